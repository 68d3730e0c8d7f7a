/**
 * Node: helper threads of the threads builds, as `worker_threads` Workers (unref'd: a helper
 * never keeps the process alive; it ends with the worker that started it).
 * @module
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { nodeSource } from '../loader/source-node.js';
import { choosePlan, isThreadsVariant, type HelperHandle, type HelperInit, type HelperSpawner } from '../loader/wasm.js';
import { defaultThreadCount } from './service.js';
import type { ServiceInitOptions } from './protocol.js';

/**
 * Starts helper `index` at once; posts it the module and memory when `init` resolves, and
 * resolves once it has instantiated the module.
 */
export const spawnNodeHelper: HelperSpawner = (index, init) =>
  new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = new Worker(new URL('./thread-helper-node.js', import.meta.url), { name: `recur-thread-${index}` });
    } catch (e) {
      reject(e);
      return;
    }
    worker.unref();
    const fail = (e: unknown): void => {
      void worker.terminate();
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    worker.once('error', fail);
    worker.once('exit', (code) => reject(new Error(`helper thread ${index} exited (code ${code})`)));
    worker.once('message', (m: { ready?: number; error?: string }) => {
      if (m.ready === index) resolve({ terminate: () => void worker.terminate() });
      else fail(new Error(`helper thread ${index} failed: ${m.error ?? 'unexpected message'}`));
    });
    init.then((i) => worker.postMessage(i), fail);
  });

/**
 * A helper the client started already ({@link prestartNode}): posts it the module and memory
 * through its port when `init` resolves, and resolves once it has instantiated the module. The
 * port closes if the helper dies first (its error itself is seen by the thread that started it).
 */
export function nodeHelperOnPort(p: unknown, index: number, init: Promise<HelperInit>): Promise<HelperHandle> {
  const port = p as MessagePort;
  return new Promise((resolve, reject) => {
    let settled = false;
    port.once('close', () => {
      if (!settled) reject(new Error(`helper thread ${index} exited before it was ready`));
      settled = true;
    });
    port.once('message', (m: { ready?: number; error?: string }) => {
      settled = true;
      if (m.ready === index) resolve({ terminate: () => port.close() });
      else {
        port.close();
        reject(new Error(`helper thread ${index} failed: ${m.error ?? 'unexpected message'}`));
      }
    });
    init.then(
      (i) => port.postMessage(i),
      (e: unknown) => {
        settled = true;
        port.close();
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** What {@link prestartNode} started for one init. */
export interface NodePrestart {
  /** The init options, with the precompiled module and the helpers' ports. */
  options: ServiceInitOptions;
  /** The ports to transfer with the options. */
  ports: MessagePort[];
  /** The helper workers (the client stops them with the worker). */
  helpers: Worker[];
}

/**
 * Node, on the calling thread while the service's worker boots: decides the build and thread
 * count the service will (the same feature detection, in the same process), starts the helper
 * workers at once (so they boot side by side with the service's worker instead of after it),
 * and reads and compiles the build (the compiled module is then shared by the service and its
 * helpers). `undefined` when there is nothing to do ahead (precompiled modules given, or options
 * the service will reject with its own error); a compile that fails here is left to the service,
 * which reports it.
 */
export async function prestartNode(options: ServiceInitOptions): Promise<NodePrestart | undefined> {
  if (options.modules !== undefined) return undefined;
  let plan: ReturnType<typeof choosePlan>;
  try {
    plan = choosePlan({
      simd: options.simd,
      relaxedSimd: options.relaxedSimd,
      variant: options.variant,
      numThreads: options.numThreads,
      defaultThreads: nodeDefaultThreads(),
      spawnHelper: spawnNodeHelper,
    });
  } catch {
    return undefined;
  }
  const helpers: Worker[] = [];
  const ports: MessagePort[] = [];
  if (isThreadsVariant(plan.variant)) {
    for (let index = 1; index < plan.threads; index++) {
      const { port1, port2 } = new MessageChannel();
      let worker: Worker;
      try {
        worker = new Worker(new URL('./thread-helper-node.js', import.meta.url), {
          name: `recur-thread-${index}`,
          workerData: { port: port1 },
          transferList: [port1],
        });
      } catch {
        port2.close();
        break; // the service starts the rest itself, and reports what fails
      }
      worker.unref();
      // Its failure reaches the service as its port closing.
      worker.on('error', () => undefined);
      helpers.push(worker);
      ports.push(port2);
    }
  }
  let module: WebAssembly.Module | undefined;
  try {
    const input = await nodeSource(plan.variant, { wasmPaths: options.wasmPaths });
    if (input.kind === 'bytes') module = await WebAssembly.compile(input.bytes as BufferSource);
  } catch {
    module = undefined;
  }
  return {
    options: {
      ...options,
      ...(module === undefined ? {} : { precompiled: { variant: plan.variant, module } }),
      ...(ports.length > 0 ? { helperPorts: ports } : {}),
    },
    ports,
    helpers,
  };
}

/** `min(os.availableParallelism(), 4)`. */
export const nodeDefaultThreads = (): number => defaultThreadCount(availableParallelism());
