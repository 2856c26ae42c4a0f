"""One big document through ``qa ingest``'s pipeline: peak memory and time to the first write.

    .venv/bin/python -m bench.big_document [--megabytes 5] [--json]

Each side runs in a fresh process of its own (peak RSS is per process): the baseline reads and
splits the document only, which any ingest must do; the pipeline then embeds and writes it. The
ratio of their peaks is the memory the embedding and writing add, which batching keeps to one
batch's worth however big the document: before it, a 50 MB text reached 2.4 GB and had written
nothing after 170 s.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "big_document.json"
INTERPOL_NEWS = REPO.parent / "shared" / "corpus" / "interpol-news"


def write_document(path: Path, megabytes: float) -> None:
    """Real prose, repeated with numbered sections until it is ``megabytes`` long."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(INTERPOL_NEWS.glob("*.txt"))]
    parts, size, section = ["Collected bulletins\n"], 0, 0
    while size < megabytes * 2**20:
        text = f"\n\nSection {section}\n\n{texts[section % len(texts)]}"
        parts.append(text)
        size += len(text.encode())
        section += 1
    path.write_text("".join(parts), encoding="utf-8")


def measure(side: str, path: Path, data_dir: Path) -> dict[str, Any]:
    """Run in a child process: ``side`` is "split" (baseline) or "ingest"."""
    from ingest.load import load_document
    from qa_service.core.config import Settings
    from qa_service.services import Services
    from qa_service.stores.chroma import ChromaChunkStore

    services = Services(Settings(data_dir=data_dir, llm="extractive"))
    started = time.perf_counter()
    first_write: list[float] = []
    if side == "split":
        loaded = load_document(path.name, path.read_bytes())
        chunks = len(services.splitter.run(path.name, loaded.text))
    else:
        store = services.store
        original = ChromaChunkStore.write_chunks

        def timed(self: ChromaChunkStore, *args: Any) -> None:
            if not first_write:
                first_write.append(time.perf_counter() - started)
            original(self, *args)

        ChromaChunkStore.write_chunks = timed  # type: ignore[method-assign,assignment]
        report = services.ingestor.run([path])
        assert report.ok, report.failed
        chunks = store.count()
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "first_write_s": round(first_write[0], 2) if first_write else None,
        "chunks": chunks,
        # Linux reports ru_maxrss in KiB.
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--child", nargs=3, metavar=("SIDE", "PATH", "DATA"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        side, path, data = args.child
        print(json.dumps(measure(side, Path(path), Path(data))))
        return
    with tempfile.TemporaryDirectory(prefix="bench-big-") as temp:
        root = Path(temp)
        document = root / "bulletins.txt"
        write_document(document, args.megabytes)
        sides = {
            side: json.loads(
                subprocess.run(
                    [sys.executable, "-m", "bench.big_document", "--child", side, str(document),
                     str(root / f"data-{side}")],
                    capture_output=True, text=True, check=True, cwd=REPO,
                ).stdout
            )
            for side in ("split", "ingest")
        }  # fmt: skip
    results = {
        "megabytes": args.megabytes,
        **sides,
        "peak_rss_ratio_ingest_to_split": round(
            sides["ingest"]["peak_rss_mib"] / sides["split"]["peak_rss_mib"], 2
        ),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2) if args.json else "\n".join(
        f"{key:<32} {value}" for key, value in results.items()
    ))  # fmt: skip


if __name__ == "__main__":
    main()
