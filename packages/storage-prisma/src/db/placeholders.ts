/**
 * Turn `?` placeholders into PostgreSQL's `$1, $2, ...`. The store's SQL never uses `?` for
 * anything else (no JSONB `?` operator, no question marks in literals).
 */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
