import { Sealer, type DataKey } from "@wxauth/wechat";

/** One sealed value of a column, by its row's id. */
export interface SealedValue {
  id: string;
  sealed: string;
}

/** A column of sealed values, as re-sealing walks it (reseal-store.ts has the database's). */
export interface SealedColumn {
  /** The table that holds the values, as the report names it. */
  readonly table: string;
  /** The label they are sealed under (AT_REST_LABELS). */
  readonly label: string;
  /** Up to `limit` values whose row id sorts after `afterId` (from the first when undefined), by id. */
  list(afterId: string | undefined, limit: number): Promise<SealedValue[]>;
  /**
   * Writes `resealed` in place of `sealed` unless the row no longer holds `sealed` (a sign-in wrote
   * a new value meanwhile, sealed under the first key already); whether it wrote.
   */
  replace(id: string, sealed: string, resealed: string): Promise<boolean>;
}

/** What re-sealing did to one table. */
export interface ResealReport {
  table: string;
  /** Re-sealed under the first key. */
  moved: number;
  /** Sealed under the first key already. */
  current: number;
  /** Rewritten by the API while this ran: nothing to do. */
  changedMeanwhile: number;
  /** Under a key no longer in the ring, or damaged: left as they are. */
  unreadable: number;
}

const BATCH_SIZE = 500;

/**
 * Re-seals every value of every column under the ring's first key, so the other keys can be
 * dropped. Safe while the API runs (each value is replaced only if it is still the one read) and
 * safe to run again: a value already under the first key is left alone.
 */
export async function resealAll(
  columns: readonly SealedColumn[],
  dataKeys: readonly DataKey[],
  batchSize = BATCH_SIZE,
): Promise<ResealReport[]> {
  const reports: ResealReport[] = [];
  for (const column of columns) {
    const sealer = new Sealer(dataKeys, column.label);
    const report = {
      table: column.table,
      moved: 0,
      current: 0,
      changedMeanwhile: 0,
      unreadable: 0,
    };
    let afterId: string | undefined;
    for (;;) {
      const batch = await column.list(afterId, batchSize);
      for (const { id, sealed } of batch) {
        let plaintext: string;
        try {
          if (sealer.keyIdOf(sealed) === sealer.sealingKeyId) {
            report.current += 1;
            continue;
          }
          plaintext = sealer.open(sealed);
        } catch {
          report.unreadable += 1;
          continue;
        }
        if (await column.replace(id, sealed, sealer.seal(plaintext))) report.moved += 1;
        else report.changedMeanwhile += 1;
      }
      if (batch.length < batchSize) break;
      afterId = batch.at(-1)!.id;
    }
    reports.push(report);
  }
  return reports;
}
