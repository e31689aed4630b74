import { Schema, type Context, type Path } from '../../config/schema.js';

/**
 * A config key spanline knows from the OpenTelemetry Collector but does not implement. Any value is a config
 * error that gives the reason, instead of "unknown key", so a config copied from the Collector fails with
 * an explanation. Absent (or null) is fine.
 */
export class UnsupportedKeySchema extends Schema<undefined> {
  constructor(
    private readonly component: string,
    private readonly reason: string,
  ) {
    super();
    this.isOptional = true;
  }
  check(_value: unknown, path: Path, ctx: Context): undefined {
    ctx.issues.push({ path, message: `is not supported by spanline's ${this.component}: ${this.reason}` });
    return undefined;
  }
  typeName(): string {
    return 'not supported';
  }
  jsonSchema(): Record<string, unknown> {
    return { not: {} };
  }
}

/** Declares a Collector key that spanline refuses, with the reason shown in the config error. */
export function unsupportedKey(component: string, reason: string): UnsupportedKeySchema {
  return new UnsupportedKeySchema(component, reason).describe(`Not supported: ${reason}.`);
}
