/**
 * Positional parameters for a statement composed from pieces (several modules' SQL in one round
 * trip): `param(value)` appends the value and returns its placeholder (`$1`, `$2`, …).
 */
export function statementParams(): { values: unknown[]; param: (value: unknown) => string } {
  const values: unknown[] = [];
  return { values, param: (value) => `$${values.push(value)}` };
}
