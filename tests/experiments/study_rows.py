"""A runs.csv row for the analysis scripts' tests: every metric 0.1 but those given."""
import study


def study_row(dataset, variant, point, seed, **metrics):
    values = dict.fromkeys(study.HEADER, "0.1")
    values.update(study="s", dataset=dataset, variant=variant, point=point, seed=str(seed), commit="c", flags="")
    values.update({k: str(v) for k, v in metrics.items()})
    return [values[k] for k in study.HEADER]
