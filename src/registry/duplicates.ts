import type { Tx } from '../db/database.js';
import { trigramMatch } from '../db/trigram.js';

export interface DuplicateCandidate {
  person_id: string;
  score: number;
  reasons: string[];
}

export interface DuplicateProbe {
  id: string;
  fullName: string;
  dateOfBirth: string | null;
  phoneKeys: string[];
}

/**
 * Likely duplicates of a person among the tenant's active persons: a similar name (trigram
 * similarity ≥ 0.45) with the same birth date, or the same phone number. Identity clashes never
 * get here: the unique index refuses them.
 */
export async function findDuplicates(
  tx: Tx,
  tenantId: string,
  probe: DuplicateProbe,
): Promise<DuplicateCandidate[]> {
  const { rows } = await tx.query<{ id: string; name_score: number; same_phone: boolean }>(
    `WITH phone_hits AS (
       SELECT DISTINCT person_id FROM person_contacts
        WHERE tenant_id = $1 AND value_key = ANY($4::text[]) AND removed_at IS NULL AND person_id <> $5
     )
     SELECT p.id,
            CASE WHEN p.date_of_birth = $3::date THEN similarity(lower(p.full_name), lower($2)) ELSE 0 END AS name_score,
            p.id IN (SELECT person_id FROM phone_hits) AS same_phone
       FROM persons p
      WHERE p.tenant_id = $1 AND p.id <> $5 AND p.status = 'active'
        AND ((p.date_of_birth = $3::date AND ${trigramMatch(tx, 'lower(p.full_name)', 'lower($2)')}) OR p.id IN (SELECT person_id FROM phone_hits))
      LIMIT 50`,
    [tenantId, probe.fullName, probe.dateOfBirth, probe.phoneKeys, probe.id],
  );
  const out: DuplicateCandidate[] = [];
  for (const r of rows) {
    const reasons: string[] = [];
    let score = 0;
    if (r.same_phone) {
      reasons.push('same_phone');
      score = 0.8;
    }
    if (r.name_score >= 0.45) {
      reasons.push('similar_name_same_birth_date');
      score = Math.max(score, 0.5 + r.name_score / 2);
      if (r.same_phone) score = Math.min(1, score + 0.1);
    }
    if (reasons.length > 0) out.push({ person_id: r.id, score: Math.round(score * 100) / 100, reasons });
  }
  return out.sort((a, b) => b.score - a.score || a.person_id.localeCompare(b.person_id)).slice(0, 20);
}
