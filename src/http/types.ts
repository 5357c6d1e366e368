import type { components, operations } from '../../generated/openapi.js';
import type { Principal } from '../core/principal.js';
import type { RequestMeta } from '../core/request-meta.js';

export type Schemas = components['schemas'];
export type OperationId = keyof operations;
type Operation<Id extends OperationId> = operations[Id];

type BodyOf<T> = T extends { content: { 'application/json': infer Body } } ? Body : T extends { content: { 'application/x-www-form-urlencoded': infer Form } } ? Form : undefined;
type OrEmpty<T> = [NonNullable<T>] extends [never] ? Record<string, never> : NonNullable<T>;

export type RequestBody<Id extends OperationId> = Operation<Id> extends { requestBody: infer Body } ? BodyOf<Body> : undefined;
export type PathParams<Id extends OperationId> = OrEmpty<Operation<Id>['parameters']['path']>;
export type QueryParams<Id extends OperationId> = OrEmpty<Operation<Id>['parameters']['query']>;

type Responses<Id extends OperationId> = Operation<Id>['responses'];
// JSON responses carry a body, other media types (XML) a string with its type, content-less ones
// (204, 302) none; problem+json is the error handler's job.
type ReplyFor<Status, Response> = Response extends { content: { 'application/json': infer Body } }
  ? { status: Status; body: Body; headers?: Record<string, string> }
  : Response extends { content: infer Content }
    ? Content extends { 'application/problem+json': unknown }
      ? never
      : { status: Status; body: string; contentType: keyof Content & string; headers?: Record<string, string> }
    : { status: Status; body?: undefined; headers?: Record<string, string> };

/** What a handler answers: one of the operation's documented non-problem responses. */
export type Reply<Id extends OperationId> = {
  [Status in Exclude<keyof Responses<Id>, 'default'>]: ReplyFor<Status, Responses<Id>[Status]>;
}[Exclude<keyof Responses<Id>, 'default'>];

export interface HandlerContext<Id extends OperationId> {
  body: RequestBody<Id>;
  params: PathParams<Id>;
  query: QueryParams<Id>;
  meta: RequestMeta;
  /** The first of `types` the client's Accept header prefers, as Express's `req.accepts`. */
  accepts: (types: string[]) => string | false;
  /** The bearer token's caller; throws 401 on an operation the spec leaves public. Handlers destructure it, so it is a function, not a method. */
  principal: () => Principal;
}

export type Handler<Id extends OperationId> = (context: HandlerContext<Id>) => Promise<Reply<Id>>;

/** One handler per spec operation: a missing or extra one is a compile error. */
export type Handlers = { [Id in OperationId]: Handler<Id> };
export type HandlersFor<Ids extends OperationId> = { [Id in Ids]: Handler<Id> };
