/**
 * The fields a partial update (PUT) was given: absent ones are dropped, an explicit null stays
 * (the spec decides which fields accept null).
 */
export function givenFields<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}
