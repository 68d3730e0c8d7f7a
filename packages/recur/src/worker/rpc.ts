/**
 * A lean request/reply channel to the worker, on the worker's own port beside comlink, for the
 * service calls that carry plain data: every call but `init` and calls with a callback (those stay
 * on comlink, which proxies functions). Per call comlink makes a proxy object registered with a
 * `FinalizationRegistry` for the method name, a random id, and runs every argument and the result
 * through its transfer handlers; on a small model's `predict` (about 1 ms) that was a measurable
 * share of the round trip. Here a call is one message each way: `{ [RPC]: id, m, a }` and
 * `{ [RPC]: id, v }` or `{ [RPC]: id, e }`. Errors cross as {@link SerializedError}s, as through
 * comlink's `throw` handler (`transfer-handlers.ts`), so both paths reject with the same classes.
 *
 * Buffers are transferred when marked with {@link markTransfer} (the endpoints' and the worker
 * hosts' `transfer` functions mark for both channels). Buffers marked with {@link markLend} are
 * lent: the request lists them (`l`), and once the call has settled the worker transfers back
 * those it has not passed on (`r`), which the client keeps for its next inputs (`scratch.ts`).
 * @module
 */
import { deserializeError, serializeError, type SerializedError } from '../errors.js';
import { recycle } from '../scratch.js';
import type { ServiceApi } from './protocol.js';

/** The key that tells this channel's messages from comlink's. */
const RPC = '__recurRpc';

/** The service methods the lean channel carries (every one but `init`). */
export const RPC_METHODS = [
  'version',
  'echo',
  'busy',
  'busyCounter',
  'memory',
  'raise',
  'abort',
  'modelCreate',
  'modelLoad',
  'modelDispose',
  'modelOp',
  'modelForward',
  'modelBackward',
  'modelPredict',
  'modelEvaluate',
  'modelFit',
  'modelGradCheck',
  'clipNorm',
  'clipValue',
  'optimizerCreate',
  'optimizerStep',
  'optimizerDispose',
] as const satisfies readonly Exclude<keyof ServiceApi, 'init'>[];

// Every method of ServiceApi but init must be listed above (a compile error otherwise).
type Unlisted = Exclude<keyof ServiceApi, 'init' | (typeof RPC_METHODS)[number]>;
const allListed: [Unlisted] extends [never] ? true : Unlisted = true;
void allListed;

const METHODS: ReadonlySet<string> = new Set(RPC_METHODS);

/** One side of a worker's message port. */
export interface RpcPort {
  /** Posts a message, transferring `transfer`. */
  postMessage(message: unknown, transfer: Transferable[]): void;
  /** Adds a listener of every message's data. */
  listen(handler: (data: unknown) => void): void;
}

const marks = new WeakMap<object, Transferable[]>();

/** Marks `value`'s buffers for transfer when it crosses this channel (as an argument or a result). */
export function markTransfer<T>(value: T, transferables: Transferable[]): T {
  if (typeof value === 'object' && value !== null) marks.set(value, transferables);
  return value;
}

const lent = new WeakMap<object, ArrayBuffer[]>();

/**
 * Marks `value`'s buffers for transfer, as lent: the worker uses them during the call only and
 * hands them back with its reply. Only for SDK-owned arrays that nothing in the worker keeps.
 */
export function markLend<T>(value: T, buffers: ArrayBuffer[]): T {
  if (typeof value === 'object' && value !== null) lent.set(value, buffers);
  return markTransfer(value, buffers);
}

function transfersOf(value: unknown): Transferable[] {
  return (typeof value === 'object' && value !== null && marks.get(value)) || [];
}

interface Request {
  [RPC]: number;
  m: string;
  a: unknown[];
  /** Lent buffers (also in `a`), handed back in the reply's `r`. */
  l?: ArrayBuffer[];
}

type Reply = ({ [RPC]: number; v: unknown } | { [RPC]: number; e: SerializedError }) & { r?: ArrayBuffer[] };

function isMessage(data: unknown): data is Record<typeof RPC, number> {
  return typeof data === 'object' && data !== null && typeof (data as Record<string, unknown>)[RPC] === 'number';
}

/** The client side: sends calls and settles them with the replies. */
export class RpcClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

  /** @param port - the worker, as an {@link RpcPort}. */
  constructor(private readonly port: RpcPort) {
    port.listen((data) => {
      if (!isMessage(data)) return;
      const reply = data as Reply;
      if (reply.r !== undefined) for (const b of reply.r) recycle(b);
      const call = this.pending.get(reply[RPC]);
      if (call === undefined) return;
      this.pending.delete(reply[RPC]);
      if ('e' in reply) call.reject(deserializeError(reply.e));
      else call.resolve(reply.v);
    });
  }

  /** Calls `method` with `args` in the worker; marked arguments' buffers are transferred. */
  call(method: string, args: unknown[]): Promise<unknown> {
    const id = this.nextId++;
    let transfer: Transferable[] = [];
    let lend: ArrayBuffer[] | undefined;
    for (const a of args) {
      const t = transfersOf(a);
      if (t.length > 0) transfer = transfer.length === 0 ? t : [...transfer, ...t];
      const l = typeof a === 'object' && a !== null ? lent.get(a) : undefined;
      if (l !== undefined) lend = lend === undefined ? l : [...lend, ...l];
    }
    const request: Request = { [RPC]: id, m: method, a: args };
    if (lend !== undefined) request.l = lend;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        this.port.postMessage(request, transfer);
      } catch (e) {
        this.pending.delete(id);
        reject(e);
      }
    });
  }

  /** Forgets the pending calls (the worker is gone; the bridge rejects them). */
  close(): void {
    this.pending.clear();
  }
}

/**
 * The service as the client calls it: {@link RPC_METHODS} through `rpc` unless an argument is a
 * function (a progress callback: comlink proxies it), everything else through `remote` (comlink).
 */
export function leanService(remote: ServiceApi, rpc: RpcClient, init: ServiceApi['init'] = (o) => remote.init(o)): ServiceApi {
  const service: Record<string, unknown> = { init };
  for (const m of RPC_METHODS) {
    service[m] = (...args: unknown[]) =>
      args.some((a) => typeof a === 'function') ? (remote[m] as (...a: unknown[]) => Promise<unknown>)(...args) : rpc.call(m, args);
  }
  return service as unknown as ServiceApi;
}

/** The worker side: answers this channel's calls with `service`'s methods. */
export function serveRpc(port: RpcPort, service: ServiceApi): void {
  /** The lent buffers still here (not passed on, e.g. as the result): they go back. */
  const returned = (lend: ArrayBuffer[] | undefined, passedOn: Transferable[]): ArrayBuffer[] =>
    lend === undefined ? [] : lend.filter((b) => b instanceof ArrayBuffer && b.byteLength > 0 && !passedOn.includes(b));
  const reply = (id: number, value: unknown, lend: ArrayBuffer[] | undefined): void => {
    const transfer = transfersOf(value);
    const r = returned(lend, transfer);
    try {
      port.postMessage({ [RPC]: id, v: value, r } satisfies Reply, r.length === 0 ? transfer : [...transfer, ...r]);
    } catch (e) {
      // e.g. a result that cannot be cloned: the call still settles, as an error
      fail(id, e, lend);
    }
  };
  const fail = (id: number, error: unknown, lend: ArrayBuffer[] | undefined): void => {
    const r = returned(lend, []);
    port.postMessage({ [RPC]: id, e: serializeError(error), r } satisfies Reply, r);
  };
  port.listen((data) => {
    if (!isMessage(data)) return;
    const { [RPC]: id, m, a, l } = data as unknown as Request;
    const lend = Array.isArray(l) ? l : undefined;
    if (!METHODS.has(m) || !Array.isArray(a)) {
      fail(id, new TypeError(`recur: unknown service method ${String(m)}`), lend);
      return;
    }
    let result: Promise<unknown>;
    try {
      result = (service[m as (typeof RPC_METHODS)[number]] as (...args: unknown[]) => Promise<unknown>).apply(service, a);
    } catch (e) {
      fail(id, e, lend);
      return;
    }
    Promise.resolve(result).then(
      (v) => reply(id, v, lend),
      (e) => fail(id, e, lend),
    );
  });
}
