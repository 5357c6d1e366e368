import { getTableName, is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import * as schema from '../../src/db/schema.js';
import { mermaidBlocksIn } from '../helpers/mermaid-blocks.js';

const DIAGRAM_FILE = 'docs/diagrams/database_schema.md';

interface Relationship {
  parent: string;
  child: string;
  column: string;
  /** The parent's side of the line: `||` exactly one (NOT NULL), `|o` zero or one (nullable). */
  parentCardinality: string;
}

/** What an erDiagram declares: its entities with their key columns, and its relationship lines. */
function parseErDiagram(source: string) {
  const entities = new Map<string, { columns: Set<string>; keys: Set<string> }>();
  const relationships: Relationship[] = [];
  let current: { columns: Set<string>; keys: Set<string> } | undefined;
  for (const line of source.split('\n').map((text) => text.trim())) {
    const relationship = /^([\w-]+)\s+(\|\||\|o|o\||\}o|o\{|\}\|)(?:--|\.\.)\S+\s+([\w-]+)\s*:\s*"?([^"]+)"?$/.exec(line);
    const entityStart = /^([\w-]+)\s*\{$/.exec(line);
    if (relationship) {
      const [, parent = '', parentCardinality = '', child = '', column = ''] = relationship;
      relationships.push({ parent, child, column, parentCardinality });
    } else if (entityStart) {
      current = { columns: new Set(), keys: new Set() };
      entities.set(entityStart[1] as string, current);
    } else if (line === '}') {
      current = undefined;
    } else if (current && line !== '') {
      const attribute = /^(\S+)\s+([\w-]+)\s*((?:PK|FK|UK)(?:\s*,\s*(?:PK|FK|UK))*)?/.exec(line);
      if (!attribute) throw new Error(`${DIAGRAM_FILE}: cannot read the attribute line "${line}"`);
      const [, , name = '', keys = ''] = attribute;
      current.columns.add(name);
      for (const key of keys.split(/\s*,\s*/).filter((key) => key !== '')) current.keys.add(`${name} ${key}`);
    }
  }
  return { entities, relationships };
}

const tables = Object.values(schema as Record<string, unknown>)
  .filter((value): value is PgTable => is(value, PgTable))
  .map((table) => getTableConfig(table));

const schemaRelationships = tables.flatMap((table) =>
  table.foreignKeys.map((foreignKey) => {
    const { columns, foreignTable } = foreignKey.reference();
    return {
      parent: getTableName(foreignTable),
      child: table.name,
      column: columns.map((column) => column.name).join(', '),
      parentCardinality: columns.every((column) => column.notNull) ? '||' : '|o',
    };
  }),
);

/** Primary and foreign key columns, as the erDiagram marks them: `<column> PK`, `<column> FK`. */
function schemaKeysOf(table: (typeof tables)[number]): string[] {
  const primary = [...table.columns.filter((column) => column.primary), ...table.primaryKeys.flatMap((key) => key.columns)];
  const foreign = table.foreignKeys.flatMap((key) => key.reference().columns);
  return [...primary.map((column) => `${column.name} PK`), ...foreign.map((column) => `${column.name} FK`)].sort();
}

const erDiagrams = mermaidBlocksIn(DIAGRAM_FILE).filter((block) => /^\s*erDiagram\b/.test(block.source));

describe(`the ER diagram in ${DIAGRAM_FILE}`, () => {
  const { entities, relationships } = parseErDiagram(erDiagrams[0]?.source ?? '');

  it('is there, once', () => {
    expect(erDiagrams).toHaveLength(1);
    expect(tables.length).toBeGreaterThan(0);
  });

  it('has exactly the tables of src/db/schema.ts as entities', () => {
    const declared = new Set([...entities.keys(), ...relationships.flatMap(({ parent, child }) => [parent, child])]);
    expect([...declared].sort()).toEqual(tables.map((table) => table.name).sort());
  });

  it('has exactly the foreign keys of src/db/schema.ts as relationships, with their nullability', () => {
    const asLine = (relationship: Relationship) => `${relationship.parent} ${relationship.parentCardinality}--o{ ${relationship.child} : ${relationship.column}`;
    expect(relationships.map(asLine).sort()).toEqual(schemaRelationships.map(asLine).sort());
  });

  it('lists only real columns, and marks every primary and foreign key column of each table', () => {
    for (const table of tables) {
      const entity = entities.get(table.name);
      expect(entity, `entity ${table.name} has an attribute block`).toBeDefined();
      const columns = new Set(table.columns.map((column) => column.name));
      expect(
        [...(entity?.columns ?? [])].filter((column) => !columns.has(column)),
        `columns of ${table.name}`,
      ).toEqual([]);
      expect([...(entity?.keys ?? [])].sort(), `keys of ${table.name}`).toEqual(schemaKeysOf(table));
    }
  });
});
