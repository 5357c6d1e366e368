import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface MermaidBlock {
  /** Repository-relative Markdown file. */
  file: string;
  /** Line of the opening fence, 1-based, as an editor shows it. */
  line: number;
  source: string;
}

// CommonMark fences: three or more backticks or tildes, indented up to three spaces (more inside list items).
const OPENING_FENCE = /^(\s*)(`{3,}|~{3,})\s*mermaid\s*$/;

/** The ```mermaid blocks of one Markdown text, in order. */
export function mermaidBlocksOf(file: string, markdown: string): MermaidBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: MermaidBlock[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const opening = OPENING_FENCE.exec(lines[index] as string);
    if (!opening) continue;
    const [, indent = '', fence = ''] = opening;
    const closing = new RegExp(`^\\s*${fence.startsWith('`') ? '`' : '~'}{${fence.length},}\\s*$`);
    const start = index;
    const body: string[] = [];
    for (index += 1; index < lines.length && !closing.test(lines[index] as string); index += 1) {
      body.push((lines[index] as string).replace(new RegExp(`^ {0,${indent.length}}`), ''));
    }
    blocks.push({ file, line: start + 1, source: body.join('\n') });
  }
  return blocks;
}

/** Every Markdown file git tracks, outside installed packages. */
export function trackedMarkdownFiles(): string[] {
  const listing = execFileSync('git', ['ls-files', '-z', '--', '*.md', ':(exclude)*node_modules/*'], { encoding: 'utf8' });
  return listing.split('\0').filter((file) => file !== '');
}

export function mermaidBlocksIn(file: string): MermaidBlock[] {
  return mermaidBlocksOf(file, readFileSync(file, 'utf8'));
}
