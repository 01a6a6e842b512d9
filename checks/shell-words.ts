// Enough of the POSIX shell grammar to find the commands a step script runs: quotes, escapes,
// line continuations, comments, command separators and redirections. Tekton's `$(params.x)` and
// KFP's `{{$.inputs.parameters['x']}}` are substituted before any shell runs, so they stay opaque
// words, exactly as written, to compare with the `image:` fields that use the same expressions.

const SEPARATORS = new Set(['\n', ';', '&', '|', '(', ')']);
const OPAQUE: readonly (readonly [string, string])[] = [
  ['{{', '}}'],
  ['$(', ')'],
  ['${', '}'],
];

/** The simple commands of a script, each as its words (quotes removed, expressions kept). */
export function shellCommands(script: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | undefined;
  let redirect = false;
  const endWord = (): void => {
    if (word !== undefined && !redirect) words.push(word);
    if (word !== undefined) redirect = false;
    word = undefined;
  };
  const endCommand = (): void => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
    redirect = false;
  };

  let i = 0;
  while (i < script.length) {
    const c = script.charAt(i);
    const opaque = OPAQUE.find(([open]) => script.startsWith(open, i));
    if (opaque !== undefined) {
      const end = closing(script, i, opaque[0], opaque[1]);
      word = (word ?? '') + script.slice(i, end);
      i = end;
    } else if (c === '\\') {
      // A backslash-newline joins lines; any other escaped character is literal.
      const next = script.charAt(i + 1);
      if (next !== '\n') word = (word ?? '') + next;
      i += 2;
    } else if (c === "'") {
      const [text, next] = singleQuoted(script, i + 1);
      word = (word ?? '') + text;
      i = next;
    } else if (c === '"') {
      const [text, next] = doubleQuoted(script, i + 1);
      word = (word ?? '') + text;
      i = next;
    } else if (c === '#' && word === undefined) {
      const end = script.indexOf('\n', i);
      i = end < 0 ? script.length : end;
    } else if (c === '>' || c === '<') {
      // `2>&1`, `>/dev/null`, `< in`: the file descriptor before and the target after are not arguments.
      if (word !== undefined && /^\d+$/.test(word)) word = undefined;
      endWord();
      redirect = true;
      i += 1;
      while (['>', '<', '&', '|'].includes(script.charAt(i))) i += 1;
      if (/\d|-/.test(script.charAt(i)) && script.charAt(i - 1) === '&') {
        redirect = false;
        while (/[\d-]/.test(script.charAt(i))) i += 1;
      }
    } else if (c === '&' && script.charAt(i + 1) === '>') {
      endWord();
      i += 1;
    } else if (SEPARATORS.has(c)) {
      endCommand();
      i += 1;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      endWord();
      i += 1;
    } else {
      word = (word ?? '') + c;
      i += 1;
    }
  }
  endCommand();
  return commands;
}

/** Index just past the `close` that balances the `open` at `start`. */
function closing(text: string, start: number, open: string, close: string): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    if (text.startsWith(open, i)) {
      depth += 1;
      i += open.length;
    } else if (text.startsWith(close, i)) {
      depth -= 1;
      i += close.length;
      if (depth === 0) return i;
    } else if (open === '$(' && text.charAt(i) === '(') {
      depth += 1;
      i += 1;
    } else {
      i += 1;
    }
  }
  return text.length;
}

/** Like the shell, but a KFP placeholder keeps its own quotes: `'{{$.inputs.parameters['x']}}'`. */
function singleQuoted(script: string, start: number): [string, number] {
  let text = '';
  let i = start;
  while (i < script.length && script.charAt(i) !== "'") {
    const end = script.startsWith('{{', i) ? closing(script, i, '{{', '}}') : i + 1;
    text += script.slice(i, end);
    i = end;
  }
  return [text, i + 1];
}

/** The text of a double-quoted string starting after its quote, and the index after its end. */
function doubleQuoted(script: string, start: number): [string, number] {
  let text = '';
  let i = start;
  while (i < script.length) {
    const c = script.charAt(i);
    if (c === '"') return [text, i + 1];
    const opaque = OPAQUE.find(([open]) => script.startsWith(open, i));
    if (opaque !== undefined) {
      const end = closing(script, i, opaque[0], opaque[1]);
      text += script.slice(i, end);
      i = end;
    } else if (c === '\\' && ['"', '\\', '$', '`', '\n'].includes(script.charAt(i + 1))) {
      if (script.charAt(i + 1) !== '\n') text += script.charAt(i + 1);
      i += 2;
    } else {
      text += c;
      i += 1;
    }
  }
  return [text, i];
}
