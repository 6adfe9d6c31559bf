/**
 * The path-declared backend kit. Each engine declares its paths as data
 * (pattern, typed fields, a handler per operation, an existence check, help)
 * and `defineBackend` turns the list into a `Backend` the router can mount.
 */
import { BadRequestError, NotFoundError, UnsupportedOperationError } from '../lib/errors.ts';
import { FieldData, type FieldSchemas } from './fields.ts';
import type {
  Backend,
  BackendContext,
  LogicalRequest,
  LogicalResponse,
  Operation,
} from './types.ts';

const QUERY_OPERATIONS: ReadonlySet<string> = new Set(['read', 'list', 'delete']);

export type PathHandler = (
  req: LogicalRequest,
  fields: FieldData,
  ctx: BackendContext,
) => Promise<LogicalResponse | undefined>;

export interface PathSpec {
  /**
   * Regular expression source matched against the whole relative path.
   * Named groups become fields (`data/(?<path>.+)`).
   */
  pattern: string;
  fields?: FieldSchemas;
  operations: Partial<Record<Operation, PathHandler>>;
  /** Says whether the target exists, so a write is checked as create or update. */
  exists?: (req: LogicalRequest, fields: FieldData, ctx: BackendContext) => Promise<boolean>;
  /**
   * Body fields that are not declared: by default the request goes on and the
   * response warns about them, as Vault does; `strictFields` refuses them with
   * a 400, and `freeForm` (paths whose body is the user's own data, such as
   * KV v1) accepts them silently.
   */
  strictFields?: boolean;
  freeForm?: boolean;
  synopsis?: string;
  description?: string;
}

interface CompiledPath {
  spec: PathSpec;
  regex: RegExp;
}

export interface BackendDefinition {
  type: string;
  paths: PathSpec[];
  unauthenticatedPaths?: string[];
  sudoPaths?: string[];
  initialize?: (ctx: BackendContext) => Promise<void>;
  cleanup?: (ctx: BackendContext) => Promise<void>;
  help?: string;
}

export function defineBackend(def: BackendDefinition): Backend {
  const compiled: CompiledPath[] = def.paths.map((spec) => ({
    spec,
    regex: new RegExp(`^${spec.pattern}$`),
  }));

  function match(relPath: string): CompiledPath | undefined {
    return compiled.find((path) => path.regex.test(relPath));
  }

  function fieldsFor(path: CompiledPath, req: LogicalRequest): FieldData {
    const captures = path.regex.exec(req.relPath)?.groups ?? {};
    // As in Vault, the query string carries fields only for reads, lists and
    // deletes; a write takes its fields from the body alone.
    const raw: Record<string, unknown> = QUERY_OPERATIONS.has(req.operation)
      ? { ...req.query, ...req.data }
      : { ...req.data };
    for (const [k, v] of Object.entries(captures)) if (v !== undefined) raw[k] = v;
    const schemas = path.spec.fields ?? {};
    if (path.spec.strictFields) {
      for (const key of Object.keys(req.data)) {
        if (!(key in schemas)) throw new BadRequestError(`unknown field "${key}"`);
      }
    }
    return new FieldData(raw, schemas);
  }

  return {
    type: def.type,
    unauthenticatedPaths: def.unauthenticatedPaths,
    sudoPaths: def.sudoPaths,
    initialize: def.initialize,
    cleanup: def.cleanup,

    async handle(req, ctx) {
      const found = match(req.relPath);
      if (!found) throw new NotFoundError(`unsupported path "${req.relPath}"`);
      if (req.query.help !== undefined && req.operation === 'read') {
        return helpResponse(found.spec, def.help);
      }
      const handler = pickHandler(found.spec, req.operation);
      if (!handler) throw new UnsupportedOperationError();
      const fields = fieldsFor(found, req);
      fields.validate();
      const resp = await handler(req, fields, ctx);
      return withIgnoredFieldWarning(found.spec, req, resp);
    },

    async exists(req, ctx) {
      const found = match(req.relPath);
      if (!found?.spec.exists) return undefined;
      return found.spec.exists(req, fieldsFor(found, req), ctx);
    },
  };
}

function withIgnoredFieldWarning(
  spec: PathSpec,
  req: LogicalRequest,
  resp: LogicalResponse | undefined,
): LogicalResponse | undefined {
  if (spec.freeForm || !spec.fields) return resp;
  const ignored = Object.keys(req.data).filter((key) => !(key in spec.fields!));
  if (ignored.length === 0) return resp;
  const warning = `Endpoint ignored these unrecognized parameters: [${ignored.join(' ')}]`;
  const out = resp ?? {};
  return { ...out, warnings: [...(out.warnings ?? []), warning] };
}

/** A write without a create handler is served by update, and the other way round. */
function pickHandler(spec: PathSpec, op: Operation): PathHandler | undefined {
  const ops = spec.operations;
  if (op === 'create') return ops.create ?? ops.update;
  if (op === 'update') return ops.update ?? ops.create;
  return ops[op];
}

function helpResponse(spec: PathSpec, backendHelp?: string): LogicalResponse {
  const fields: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(spec.fields ?? {})) {
    fields[name] = { type: schema.type, description: schema.description ?? '' };
  }
  const help = [spec.synopsis ?? '', spec.description ?? '', backendHelp ?? '']
    .filter(Boolean)
    .join('\n\n');
  return { data: { help, fields, operations: Object.keys(spec.operations) } };
}
