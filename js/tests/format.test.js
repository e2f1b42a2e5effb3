import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  formatCount,
  formatDuration,
  formatFraction,
  formatNumber,
  formatPercent,
  formatRate,
  formatSpan,
  fraction,
} from "../format.js";

describe("formatSpan", () => {
  test("short spans in seconds with decimals, then a clock", () => {
    assert.equal(formatSpan(0), "0.00 s");
    assert.equal(formatSpan(0.4219), "0.42 s");
    assert.equal(formatSpan(3.14), "3.1 s");
    assert.equal(formatSpan(12.7), "0:12");
    assert.equal(formatSpan(3723), "1:02:03");
    assert.equal(formatSpan(-1), "?");
    assert.equal(formatSpan(null), "?");
  });
});

describe("formatDuration", () => {
  test("seconds under an hour are m:ss", () => {
    assert.equal(formatDuration(0), "0:00");
    assert.equal(formatDuration(5), "0:05");
    assert.equal(formatDuration(5.99), "0:05");
    assert.equal(formatDuration(62), "1:02");
    assert.equal(formatDuration(3599), "59:59");
  });
  test("an hour or more is h:mm:ss", () => {
    assert.equal(formatDuration(3600), "1:00:00");
    assert.equal(formatDuration(3723), "1:02:03");
    assert.equal(formatDuration(90000), "25:00:00");
  });
  test("unknown or negative is ?", () => {
    assert.equal(formatDuration(null), "?");
    assert.equal(formatDuration(undefined), "?");
    assert.equal(formatDuration(NaN), "?");
    assert.equal(formatDuration(-1), "?");
  });
});

describe("formatRate", () => {
  test("per second, with one decimal below 100", () => {
    assert.equal(formatRate(3.2), "3.2 it/s");
    assert.equal(formatRate(3.24, "rows"), "3.2 rows/s");
    assert.equal(formatRate(1), "1.0 it/s");
    assert.equal(formatRate(99.94), "99.9 it/s");
    assert.equal(formatRate(250.4), "250 it/s");
  });
  test("thousands get a suffix", () => {
    assert.equal(formatRate(12500), "12.5k it/s");
    assert.equal(formatRate(2_500_000, "B"), "2.5M B/s");
  });
  test("below one per second it turns round to s/it", () => {
    assert.equal(formatRate(0.5), "2.0 s/it");
    assert.equal(formatRate(1 / 2.1), "2.1 s/it");
    assert.equal(formatRate(0.25, "file"), "4.0 s/file");
    assert.equal(formatRate(1 / 500), "500 s/it");
  });
  test("unknown is empty, zero is 0", () => {
    assert.equal(formatRate(null), "");
    assert.equal(formatRate(Infinity), "");
    assert.equal(formatRate(0), "0 it/s");
  });
});

describe("formatNumber", () => {
  test("exact below a thousand", () => {
    assert.equal(formatNumber(0), "0");
    assert.equal(formatNumber(999), "999");
    assert.equal(formatNumber(2.5), "2.5");
    assert.equal(formatNumber(-12), "-12");
  });
  test("k, M, G suffixes", () => {
    assert.equal(formatNumber(1000), "1k");
    assert.equal(formatNumber(1234), "1.2k");
    assert.equal(formatNumber(12500), "12.5k");
    assert.equal(formatNumber(350_000), "350k");
    assert.equal(formatNumber(999_999), "1M");
    assert.equal(formatNumber(1_500_000), "1.5M");
    assert.equal(formatNumber(7_200_000_000), "7.2G");
  });
  test("unknown is ?", () => {
    assert.equal(formatNumber(null), "?");
  });
});

describe("counts, fractions and percentages", () => {
  test("counts stay exact below 10 000", () => {
    assert.equal(formatCount(9999), "9999");
    assert.equal(formatCount(12345), "12.3k");
    assert.equal(formatCount(2.25), "2.3");
  });
  test("n/total unit, with ? for an unknown total", () => {
    assert.equal(formatFraction(3, 40, "it"), "3/40 it");
    assert.equal(formatFraction(12345, null, "rows"), "12.3k/? rows");
    assert.equal(formatFraction(3, 8, ""), "3/8");
  });
  test("percent rounds down and clamps", () => {
    assert.equal(formatPercent(7, 8), "87%");
    assert.equal(formatPercent(39.9, 40), "99%");
    assert.equal(formatPercent(40, 40), "100%");
    assert.equal(formatPercent(29, 100), "29%");
    assert.equal(formatPercent(50, 40), "100%");
    assert.equal(formatPercent(3, null), "");
    assert.equal(formatPercent(0, 0), "");
  });
  test("fraction is null without a usable total", () => {
    assert.equal(fraction(1, 4), 0.25);
    assert.equal(fraction(5, 4), 1);
    assert.equal(fraction(-1, 4), 0);
    assert.equal(fraction(1, null), null);
    assert.equal(fraction(1, 0), null);
  });
});
