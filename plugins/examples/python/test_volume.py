import unittest

from volume import DAY_MS, week_label, week_start_ms, weekly_volume

# 2026-06-01 is a Monday (ISO week 23).
JUNE_1 = 1_780_272_000_000


class WeeklyVolume(unittest.TestCase):
    def test_weeks_start_on_monday_utc(self):
        self.assertEqual(week_start_ms(JUNE_1), JUNE_1)
        self.assertEqual(week_start_ms(JUNE_1 + 6 * DAY_MS + 1), JUNE_1)
        self.assertEqual(week_start_ms(JUNE_1 - 1), JUNE_1 - 7 * DAY_MS)
        self.assertEqual(week_label(JUNE_1), "2026-W23")

    def test_iso_years_differ_from_calendar_years(self):
        # Monday 2024-12-30 starts week 1 of 2025.
        self.assertEqual(week_label(1_735_516_800_000), "2025-W01")

    def test_volume_per_week_with_empty_weeks(self):
        weeks = weekly_volume(
            [(JUNE_1, 5, 100.0), (JUNE_1 + DAY_MS, 5, 100.0), (JUNE_1 + 14 * DAY_MS, 10, 50.0)], 1.0
        )
        self.assertEqual(
            [(w[1], w[2], w[3]) for w in weeks],
            [("2026-W23", 2, 1000.0), ("2026-W24", 0, 0.0), ("2026-W25", 1, 500.0)],
        )
        self.assertEqual(weekly_volume([], 1.0), [])

    def test_pounds(self):
        [(_, _, _, volume)] = weekly_volume([(JUNE_1, 1, 0.45359237)], 0.45359237)
        self.assertAlmostEqual(volume, 1.0)


if __name__ == "__main__":
    unittest.main()
