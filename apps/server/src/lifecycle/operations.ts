/**
 * Lifecycle operations on labs (up, down, stop/start/restart of a node), one at a time per lab,
 * and the stream of their progress. A watcher that arrives while an operation runs (a reloaded
 * browser tab) first gets everything that operation reported so far, then the rest live.
 */
import { EventEmitter } from 'node:events';
import type { LabStatus, ProgressEvent } from '@meshcraft/runtime';
import { Channel } from '../async-channel.js';
import { ConsoleError, type ErrorDetails, errorDetails } from '../errors.js';

export type OperationKind = 'up' | 'down' | 'stop' | 'start' | 'restart';

export interface OperationInfo {
  id: number;
  labId: string;
  kind: OperationKind;
  /** The node an operation on one node acts on. */
  target?: string;
  /** Milliseconds since the epoch. */
  startedAt: number;
}

export type LifecycleEvent =
  | { type: 'started'; operation: OperationInfo }
  | { type: 'progress'; operation: OperationInfo; at: number; event: ProgressEvent }
  | { type: 'finished'; operation: OperationInfo; at: number; status: LabStatus | null }
  | { type: 'failed'; operation: OperationInfo; at: number; error: ErrorDetails };

interface OperationRecord {
  info: OperationInfo;
  events: LifecycleEvent[];
  done: boolean;
}

/** More than any `up` reports (a step per container and a few per image build); the rest is dropped from replays. */
const MAX_REPLAY = 2000;

export class Operations {
  private readonly emitter = new EventEmitter();
  private readonly latest = new Map<string, OperationRecord>();
  private nextId = 1;

  constructor(private readonly onChange: (labId: string) => void = () => {}) {
    this.emitter.setMaxListeners(0);
  }

  /** The operation running on a lab now, if any. */
  running(labId: string): OperationInfo | undefined {
    const r = this.latest.get(labId);
    return r && !r.done ? r.info : undefined;
  }

  /** Runs `fn` as the lab's operation; refuses while another runs on the same lab. */
  async run(
    labId: string,
    kind: OperationKind,
    target: string | undefined,
    fn: (onProgress: (event: ProgressEvent) => void) => Promise<LabStatus | null>,
  ): Promise<LabStatus | null> {
    const busy = this.running(labId);
    if (busy) {
      throw new ConsoleError(
        'BUSY',
        `lab '${labId}' is busy: ${busy.kind}${busy.target ? ` of ${busy.target}` : ''} is still running`,
        'wait for it to finish (watch its progress), then try again',
      );
    }
    const info: OperationInfo = { id: this.nextId++, labId, kind, target, startedAt: Date.now() };
    const record: OperationRecord = { info, events: [], done: false };
    this.latest.set(labId, record);
    this.emit(record, { type: 'started', operation: info });
    try {
      const status = await fn((event) =>
        this.emit(record, { type: 'progress', operation: info, at: Date.now(), event }),
      );
      record.done = true;
      this.emit(record, { type: 'finished', operation: info, at: Date.now(), status });
      return status;
    } catch (err) {
      record.done = true;
      this.emit(record, { type: 'failed', operation: info, at: Date.now(), error: errorDetails(err) });
      throw err;
    } finally {
      this.onChange(labId);
    }
  }

  /** The lab's latest operation so far, then every event of this and later operations, until `signal` aborts. */
  async *watch(labId: string, signal: AbortSignal): AsyncGenerator<LifecycleEvent> {
    const channel = new Channel<LifecycleEvent>(MAX_REPLAY);
    for (const e of this.latest.get(labId)?.events ?? []) channel.push(e);
    const listener = (e: LifecycleEvent) => channel.push(e);
    this.emitter.on(labId, listener);
    try {
      yield* channel.drain(signal);
    } finally {
      this.emitter.off(labId, listener);
    }
  }

  private emit(record: OperationRecord, event: LifecycleEvent): void {
    if (record.events.length < MAX_REPLAY) record.events.push(event);
    this.emitter.emit(record.info.labId, event);
  }
}
