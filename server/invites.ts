// Invite links: one signed, expiring link per participant.
import type { Participant } from '../shared/domain.ts';
import type { TokenService } from './auth/tokens.ts';

export class Invites {
  private readonly tokens: TokenService;
  private readonly ttlSeconds: number;

  constructor(tokens: TokenService, ttlSeconds: number) {
    this.tokens = tokens;
    this.ttlSeconds = ttlSeconds;
  }

  async link(baseUrl: string, participant: Participant): Promise<string> {
    const token = await this.tokens.sign(
      'invite',
      { participantId: participant.id, sessionId: participant.sessionId, role: participant.role },
      this.ttlSeconds,
    );
    return `${baseUrl}/join/${token}`;
  }
}
