// Regenerates the component reference in README.md from the components' schemas.
// Usage: npm run docs   (runs after the build; a test fails when the README is out of date)
import { readFileSync, writeFileSync } from 'node:fs';
import { builtInRegistry } from '../dist/components.js';
import { componentReference, withReference } from '../dist/config/reference.js';

const readme = readFileSync('README.md', 'utf8');
const next = withReference(readme, componentReference(builtInRegistry()));
if (next !== readme) {
  writeFileSync('README.md', next);
  console.log('README.md: component reference updated');
} else console.log('README.md: component reference is up to date');
