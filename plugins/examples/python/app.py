"""Weekly volume, an example insight plugin in Python (componentize-py):
for one exercise, the volume (reps x weight) of each ISO week, empty weeks
included, in kilograms or pounds."""

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.insight import (
    ComputeError_InvalidParam,
    Descriptor,
    InsightResult,
    Metric,
    ParamKind_Choice,
    ParamKind_Exercise,
    ParamSpec,
    Point,
    Series,
    Table,
)

from volume import round1, weekly_volume


class Insight(exports.Insight):
    def describe(self):
        return Descriptor(
            name="weekly-volume",
            version="0.1.0",
            title="Weekly volume",
            description="Volume (reps x weight) of one exercise per ISO week",
            params=[
                ParamSpec("exercise", "The exercise (case-insensitive)", ParamKind_Exercise(), True, None),
                ParamSpec("unit", "Unit of the volume", ParamKind_Choice(["kg", "lb"]), False, "kg"),
            ],
        )

    def compute(self, entries, params, units):
        values = {p.name: p.value for p in params}
        unit = values["unit"]
        factor = next((u.kg_per_unit for u in units if u.code == unit), None)
        if factor is None:
            # The host validated the choice; its registry lacking the unit is
            # the caller's problem all the same.
            raise Err(ComputeError_InvalidParam(("unit", f"the host has no unit {unit}")))
        sets = [(e.date_ms, s.reps, s.weight_kg) for e in entries for s in e.sets]
        weeks = weekly_volume(sets, factor)
        if not weeks:
            return InsightResult("no sets logged", [], [], [])
        total = sum(w[3] for w in weeks)
        best = max(weeks, key=lambda w: w[3])
        name = entries[-1].exercise
        return InsightResult(
            summary=f"{round1(total)} {unit} of {name} over {len(weeks)} weeks; "
            f"best week {best[1]} ({round1(best[3])} {unit})",
            metrics=[
                Metric("total-volume", total, unit),
                Metric("weeks", float(len(weeks)), None),
                Metric("average-weekly-volume", total / len(weeks), unit),
                Metric("best-week-volume", best[3], unit),
            ],
            series=[Series("volume", unit, [Point(w[0], w[1], w[3]) for w in weeks])],
            tables=[
                Table(
                    "weeks",
                    ["week", "sets", f"volume-{unit}"],
                    [[w[1], str(w[2]), round1(w[3])] for w in weeks],
                )
            ],
        )
