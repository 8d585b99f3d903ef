import { describe, expect, it } from "vitest";
import { axisMax, formatCny, spendByDay, spendTotals } from "./spend";

describe("spend", () => {
  const spend = {
    days: [
      { date: "2026-12-06", phoneLookups: 10, smsSent: 3 },
      { date: "2026-12-07", phoneLookups: 1, smsSent: 1 },
    ],
    prices: { phoneLookupCny: 0.03, smsCny: 0.045 },
  };

  it("prices each day by what it paid for, without float drift", () => {
    const days = spendByDay(spend);
    expect(days[0]).toMatchObject({ phoneLookupCny: 0.3, smsCny: 0.135, totalCny: 0.435 });
    expect(days[1]).toMatchObject({ phoneLookupCny: 0.03, smsCny: 0.045, totalCny: 0.075 });
    expect(spendTotals(days)).toEqual({ phoneLookups: 11, smsSent: 4, totalCny: 0.51 });
  });

  it("rounds the chart's axis up to 1, 2 or 5 times a power of ten", () => {
    expect(axisMax(0)).toBe(1);
    expect(axisMax(0.435)).toBe(0.5);
    expect(axisMax(1.2)).toBe(2);
    expect(axisMax(37)).toBe(50);
    expect(axisMax(100)).toBe(100);
  });

  it("shows yuan with two decimals", () => {
    expect(formatCny(0.435)).toBe("¥0.44");
    expect(formatCny(12)).toBe("¥12.00");
  });
});
