// Technologist sessions as pure state: who is logged in, since when, and when
// the session ends for want of activity. No clocks, timers, sockets or files:
// every call is given the time, and every change comes back as an event for
// the adapter (host/capture/session-endpoint.ts) to log and act on.
import type { TechnologistIdentity } from './seal.js';

/** A logged-in technologist's identity; close() ends a token session when the key is on a token. */
export type Technologist = TechnologistIdentity & { close?: () => void };

/** Who co-signs an object sealed now, or undefined when nobody is logged in. */
export type TechnologistProvider = () => TechnologistIdentity | undefined;

/** What a station does with an exposure while nobody is logged in. */
export type WithoutTechnologist = 'device-only' | 'hold';
export const WITHOUT_TECHNOLOGIST: readonly WithoutTechnologist[] = ['device-only', 'hold'];

export const DEFAULT_IDLE_TIMEOUT_MINUTES = 30;

export interface SessionState {
  operatorId: string;
  operatorsName?: string;
  /** Milliseconds since the epoch. */
  since: number;
  idleDeadline: number;
}

export type SessionEndReason = 'logout' | 'timeout' | 'replaced';

export type SessionEvent =
  | { kind: 'login'; at: number; operatorId: string; operatorsName?: string }
  | { kind: 'end'; at: number; operatorId: string; reason: SessionEndReason; since: number; ended: Technologist };

export class TechnologistSession {
  private who: Technologist | undefined;
  private since = 0;
  private deadline = 0;

  constructor(readonly idleTimeoutMs: number) {
    if (!(idleTimeoutMs > 0)) throw new RangeError('idle timeout must be positive');
  }

  /** Starts a session; one already open for someone (or the same person) ends first. */
  login(tech: Technologist, now: number): SessionEvent[] {
    const events = this.end(now, 'replaced');
    this.who = tech;
    this.since = now;
    this.deadline = now + this.idleTimeoutMs;
    events.push({ kind: 'login', at: now, operatorId: tech.operatorId, operatorsName: tech.operatorsName });
    return events;
  }

  logout(now: number): SessionEvent[] {
    return this.end(now, 'logout');
  }

  /** Ends the session when its idle deadline has passed. */
  expire(now: number): SessionEvent[] {
    return this.who && now >= this.deadline ? this.end(this.deadline, 'timeout') : [];
  }

  /** Activity (an exposure sealed, a tech command): pushes the idle deadline out. */
  touch(now: number): void {
    if (this.who && now < this.deadline) this.deadline = now + this.idleTimeoutMs;
  }

  /** The technologist logged in at `now`, if the session has not run out. */
  current(now: number): Technologist | undefined {
    return this.who && now < this.deadline ? this.who : undefined;
  }

  state(now: number): SessionState | undefined {
    const who = this.current(now);
    return who ? { operatorId: who.operatorId, operatorsName: who.operatorsName, since: this.since, idleDeadline: this.deadline } : undefined;
  }

  private end(at: number, reason: SessionEndReason): SessionEvent[] {
    const ended = this.who;
    if (!ended) return [];
    this.who = undefined;
    return [{ kind: 'end', at, operatorId: ended.operatorId, reason, since: this.since, ended }];
  }
}
