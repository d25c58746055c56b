/** Lays rows out in columns two spaces apart; widths ignore colour codes. */
export function table(rows: readonly (readonly string[])[]): string {
  const visible = (text: string): number => text.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => visible(row[column] ?? ''))));
  return rows.map((row) => row.map((cell, column) => cell + ' '.repeat(widths[column]! - visible(cell))).join('  ').trimEnd()).join('\n');
}
