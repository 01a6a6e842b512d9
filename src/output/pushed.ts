/** What a pushing command prints on stdout: the pushed reference alone (for `$(…)`), or the whole result as JSON. */
export function renderPushed(result: { readonly reference: string }, format: 'text' | 'json'): string {
  return format === 'json' ? `${JSON.stringify({ schemaVersion: 1, ...result }, null, 2)}\n` : `${result.reference}\n`;
}
