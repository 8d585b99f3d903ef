import type { Spend } from "@wxauth/contracts/admin";

/** One day of spend in CNY, split by what it paid for. */
export interface DaySpend {
  date: string;
  phoneLookups: number;
  smsSent: number;
  phoneLookupCny: number;
  smsCny: number;
  totalCny: number;
}

/**
 * Prices have at most three decimals (0.045); counting in thousandths of a yuan keeps sums exact
 * where adding floats would drift (0.1 + 0.2).
 */
function milliCny(cny: number): number {
  return Math.round(cny * 1000);
}

export function spendByDay(spend: Spend): DaySpend[] {
  const phonePrice = milliCny(spend.prices.phoneLookupCny);
  const smsPrice = milliCny(spend.prices.smsCny);
  return spend.days.map((day) => {
    const phone = day.phoneLookups * phonePrice;
    const sms = day.smsSent * smsPrice;
    return {
      ...day,
      phoneLookupCny: phone / 1000,
      smsCny: sms / 1000,
      totalCny: (phone + sms) / 1000,
    };
  });
}

export interface SpendTotals {
  phoneLookups: number;
  smsSent: number;
  totalCny: number;
}

export function spendTotals(days: DaySpend[]): SpendTotals {
  return {
    phoneLookups: days.reduce((sum, day) => sum + day.phoneLookups, 0),
    smsSent: days.reduce((sum, day) => sum + day.smsSent, 0),
    totalCny: days.reduce((sum, day) => sum + milliCny(day.totalCny), 0) / 1000,
  };
}

/** A round upper bound for the chart's axis: 1, 2 or 5 times a power of ten, at least `max`. */
export function axisMax(max: number): number {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/** `0.435` → `¥0.44`: a yuan amount to the fen, rounded half up from its exact thousandths. */
export function formatCny(cny: number): string {
  return `¥${(Math.round(milliCny(cny) / 10) / 100).toFixed(2)}`;
}
