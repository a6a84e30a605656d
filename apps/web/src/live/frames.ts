/**
 * The rolling window of stats frames, outside React state: the chart and the counters table
 * subscribe to it, so a new frame re-renders them and nothing else.
 */
import { useSyncExternalStore } from 'react';
import type { StatsFrame } from '../api/types.js';

export class FrameStore {
  private frames: readonly StatsFrame[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly windowMs = 120_000) {}

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  get = (): readonly StatsFrame[] => this.frames;

  reset(frames: readonly StatsFrame[]): void {
    this.frames = frames;
    this.emit();
  }

  push(frame: StatsFrame): void {
    const from = frame.at - this.windowMs;
    this.frames = [...this.frames.filter((f) => f.at >= from), frame];
    this.emit();
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}

export function useFrames(store: FrameStore): readonly StatsFrame[] {
  return useSyncExternalStore(store.subscribe, store.get);
}
