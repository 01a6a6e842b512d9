// npm run docs: regenerate the generated parts of README.md, and write package.json's version,
// repository and image into every file that carries a copy (scripts/project-refs.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCatalogue, renderTroubleshooting, replaceCatalogue, replaceTroubleshooting } from './catalogue.ts';
import { readProjectRefs, syncedFiles, syncRefs } from './project-refs.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const refs = readProjectRefs(root);
const updated: string[] = [];
for (const file of syncedFiles(root)) {
  const path = new URL(`../${file}`, import.meta.url);
  const before = readFileSync(path, 'utf8');
  let after = syncRefs(before, refs);
  if (file === 'README.md') {
    after = replaceTroubleshooting(replaceCatalogue(after, renderCatalogue()), renderTroubleshooting());
  }
  if (after !== before) {
    writeFileSync(path, after);
    updated.push(file);
  }
}
process.stdout.write(updated.length === 0 ? 'up to date\n' : `updated ${updated.join(', ')}\n`);
