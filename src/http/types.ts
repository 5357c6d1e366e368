import type { components, operations } from '../../generated/openapi.js';
import type { Principal } from '../auth/sessions.js';
import type { RequestMeta } from '../modules/audit-logs/service.js';

export type Schemas = components['schemas'];
export type OperationId = keyof operations;
type Operation<Id extends OperationId> = operations[Id];

type JsonBody<T> = T extends { content: { 'application/json': infer Body } } ? Body : undefined;
type OrEmpty<T> = [NonNullable<T>] extends [never] ? Record<string, never> : NonNullable<T>;

export type RequestBody<Id extends OperationId> = Operation<Id> extends { requestBody: infer Body } ? JsonBody<Body> : undefined;
export type PathParams<Id extends OperationId> = OrEmpty<Operation<Id>['parameters']['path']>;
export type QueryParams<Id extends OperationId> = OrEmpty<Operation<Id>['parameters']['query']>;

type Responses<Id extends OperationId> = Operation<Id>['responses'];
// JSON responses carry a body, content-less ones (204) none; problem+json is the error handler's job.
type ReplyFor<Status, Response> = Response extends { content: { 'application/json': infer Body } }
  ? { status: Status; body: Body; headers?: Record<string, string> }
  : Response extends { content: unknown }
    ? never
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
  /** The bearer token's caller; throws 401 on an operation the spec leaves public. */
  principal(): Principal;
}

export type Handler<Id extends OperationId> = (context: HandlerContext<Id>) => Promise<Reply<Id>>;

/** One handler per spec operation: a missing or extra one is a compile error. */
export type Handlers = { [Id in OperationId]: Handler<Id> };
export type HandlersFor<Ids extends OperationId> = { [Id in Ids]: Handler<Id> };
