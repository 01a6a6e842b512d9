// npm run docs: regenerate the generated parts of README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderCatalogue, renderTroubleshooting, replaceCatalogue, replaceTroubleshooting } from './catalogue.ts';

const path = new URL('../README.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = replaceTroubleshooting(replaceCatalogue(before, renderCatalogue()), renderTroubleshooting());
if (after !== before) writeFileSync(path, after);
process.stdout.write(after === before ? 'README.md is up to date\n' : 'README.md updated\n');
