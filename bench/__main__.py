"""`make bench`: every benchmark, each printing its figures."""

from bench import respond

if __name__ == "__main__":
    respond.main()
