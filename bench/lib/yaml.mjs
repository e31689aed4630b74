/** Just enough YAML output for generated configs: maps, lists of scalars or maps, strings, numbers, booleans. */
export function toYaml(value, indent = '') {
  let out = '';
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out += `${indent}${k}:\n${toYaml(v, indent + '  ')}`;
    } else if (Array.isArray(v) && v.some((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) {
      // A block sequence of maps (e.g. tail_sampling policies): each map's keys align after "- ".
      out += `${indent}${k}:\n`;
      for (const item of v) {
        const body = item !== null && typeof item === 'object' ? toYaml(item, indent + '    ') : '';
        out += body === '' ? `${indent}  - ${item !== null && typeof item === 'object' ? '{}' : scalar(item)}\n` : `${indent}  - ${body.slice(indent.length + 4)}`;
      }
    } else if (Array.isArray(v)) {
      out += `${indent}${k}: [${v.map(scalar).join(', ')}]\n`;
    } else {
      out += `${indent}${k}: ${scalar(v)}\n`;
    }
  }
  return out;
}

function scalar(v) {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(String(v)); // a JSON string is a valid double-quoted YAML scalar
}
