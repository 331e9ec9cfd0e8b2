// Plain words for the assessment day: phase labels, countdown text, which scenario matters now.
import type { DayState, PhaseSpec } from '../../shared/assessment.ts';

/** The phase that is running or paused (null while waiting, when complete, without a day). */
export function currentPhase(state: DayState | null): PhaseSpec | null {
  if (!state || (state.status !== 'running' && state.status !== 'paused')) return null;
  return state.phases[state.phaseIndex] ?? null;
}

/** Label of one phase: "Briefing — scenario 2", "Scenario 2", "Written exercise", … */
export function phaseSpecLabel(phase: PhaseSpec): string {
  switch (phase.kind) {
    case 'briefing':
      return `Briefing — scenario ${phase.scenario ?? '?'}`;
    case 'scenario':
      return `Scenario ${phase.scenario ?? '?'}`;
    case 'writtenExercise':
      return 'Written exercise';
    case 'break':
      return 'Rest break';
    case 'reflectiveConversation':
      return 'Reflective conversation';
  }
}

/** What the day bar calls the present moment: a phase label, "Waiting to start", "Paused", "Complete" or "Stopped". */
export function phaseLabel(state: DayState | null): string {
  if (!state) return '';
  if (state.status === 'waiting') return 'Waiting to start';
  if (state.status === 'paused') return 'Paused';
  if (state.status === 'complete') return 'Complete';
  if (state.status === 'stopped') return 'Stopped';
  const phase = currentPhase(state);
  return phase ? phaseSpecLabel(phase) : 'Complete';
}

/** The phase after the current one (null at the end). */
export function nextPhase(state: DayState | null): PhaseSpec | null {
  if (!state || state.status === 'complete' || state.status === 'stopped') return null;
  return state.phases[state.phaseIndex + 1] ?? null;
}

/**
 * The scenario people should be reading about now: the current phase's scenario, else the next
 * one coming up, else the last one played.
 */
export function focusScenario(state: DayState | null): number | null {
  if (!state) return null;
  const from = Math.max(state.phaseIndex, 0);
  const ahead = state.phases.slice(from).find((p) => p.scenario !== undefined);
  if (ahead?.scenario !== undefined && state.status !== 'complete') return ahead.scenario;
  const behind = state.phases.slice(0, Math.min(state.phaseIndex + 1, state.phases.length)).findLast((p) => p.scenario !== undefined);
  return behind?.scenario ?? null;
}

function mmss(totalSeconds: number): string {
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  return `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
}

/** "09:59"; a soft phase past its time "+01:05 over"; a hard phase at its end "00:00". */
export function formatCountdown(remainingMs: number, timer: PhaseSpec['timer']): string {
  if (remainingMs >= 0) return mmss(Math.ceil(remainingMs / 1000));
  if (timer === 'soft') return `+${mmss(Math.floor(-remainingMs / 1000))} over`;
  return '00:00';
}

/** "9 minutes", "1 minute 30 seconds", "45 seconds": for screen readers and confirmations. */
export function spokenDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  const parts: string[] = [];
  if (minutes > 0) parts.push(`${minutes} minute${minutes === 1 ? '' : 's'}`);
  if (seconds > 0 || minutes === 0) parts.push(`${seconds} second${seconds === 1 ? '' : 's'}`);
  return parts.join(' ');
}

/** A scheduled start in the viewer's local time, e.g. "Tuesday 3 March, 14:30". */
export function formatLocalDateTime(epochMs: number): string {
  return new Date(epochMs).toLocaleString(undefined, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    hour: '2-digit',
    minute: '2-digit',
  });
}

export function formatLocalTime(epochMs: number): string {
  return new Date(epochMs).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}
