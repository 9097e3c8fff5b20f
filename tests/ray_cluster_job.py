"""A batch job on a real multi-node Ray cluster on this machine, with one worker node killed
mid-job; run by tests/test_batch_ray.py in its own process (Ray's state stays out of pytest).

    python tests/ray_cluster_job.py MODEL.keras DATA.parquet OUT.parquet

A head node with no CPUs (so nothing runs on it) and two one-CPU worker nodes; after the
third part is written, the node that computed it is killed (not drained) and a new one
joins. The actors read each part's rows from the Parquet file's bytes (`ParquetSource`), as
the CLI's Ray engine does. Prints JSON: the node ids before the kill, the killed node, each
part's node, the rows written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# LIME with many samples: a part takes ~0.5 s, so the second node's actor, which may start
# seconds after the first on a loaded machine, still finds parts to take, and parts are
# still to come when a node is killed (all-gradient parts were done before either happened)
PARAMS = {"saliency": {}, "lime": {"num_samples": 4000}}


def main(model_path: str, data_path: str, out: str) -> None:
    import ray
    import ray.data
    from ray.cluster_utils import Cluster

    from components.data.parquet_rows import ParquetSource
    from components.data.session import open_dataset
    from components.explain.batch import BatchSpec
    from components.explain.batch_job import Job, JobSpec, Progress
    from components.explain.batch_ray import run_ray
    from components.explain.local import subject_for
    from components.model.bundle import open_model
    from components.model.load import sha256_hex

    model_bytes, data_bytes = Path(model_path).read_bytes(), Path(data_path).read_bytes()
    bundle = open_model(model_bytes, "model.keras")
    dataset = open_dataset(data_bytes, "data.parquet", bundle)
    methods = ("saliency", "lime")
    spec = JobSpec(model_sha256=bundle.loaded.sha256, data_sha256=sha256_hex(data_bytes),
                   model_name="model.keras", data_name="data.parquet", methods=methods,
                   params=PARAMS, seed=0, target=None, task="multiclass",
                   kind="tabular", rows=(0, dataset.n_rows), part_rows=10,
                   feature_names=tuple(dataset.feature_names), sample_shape=(6,))
    background = subject_for(dataset, 0, "multiclass").background
    batch = BatchSpec(methods=methods, target=None, seed=0, params=spec.params,
                      task="multiclass", kind="tabular", background=background,
                      feature_names=spec.feature_names)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = [cluster.add_node(num_cpus=1), cluster.add_node(num_cpus=1)]
    cluster.wait_for_nodes()
    killed: dict[str, str] = {}

    class KillOnce(Progress):
        """After the third part: kill the node of a live actor, and let a new node join."""

        def add(self, rows: int) -> None:
            super().add(rows)
            if self.done >= 30 and not killed:
                victim = workers[0]
                killed["node"] = victim.node_id
                cluster.remove_node(victim, allow_graceful=False)
                cluster.add_node(num_cpus=1)

    job = Job(spec, Path(out))
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        before = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"]
                        and n["Resources"].get("CPU"))
        ray.shutdown()  # run_ray joins the cluster itself, as the CLI does
        # Both actors up before the first part is handed out: on a loaded machine the second
        # one started after the first had taken every part, and nothing ran on its node.
        ray.data.DataContext.get_current().wait_for_min_actors_s = 600
        source = ParquetSource(name="data.parquet", columns=spec.feature_names,
                               n_rows=dataset.n_rows, data=data_bytes)
        nodes = run_ray(job, job.open(), source, batch,
                        (model_bytes, "model.keras", bundle.loaded.sha256), 2,
                        KillOnce(dataset.n_rows, 0), address=cluster.address)
        rows = job.finish()
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
    print(json.dumps({"before": before, "killed": killed.get("node"), "rows": rows,
                      "nodes": {f"{a}:{b}": n for (a, b), n in sorted(nodes.items())}}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
