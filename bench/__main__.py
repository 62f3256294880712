"""`make bench`: every benchmark, each printing its figures."""

import sys

from bench import analysis, assessment, journey, mail, respond, roster, sipas

BENCHMARKS = {"respond": respond.main, "roster": roster.main, "mail": mail.main, "analysis": analysis.main,
              "journey": journey.main, "assessment": assessment.main, "sipas": sipas.main}

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(BENCHMARKS)
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        BENCHMARKS[name]()
