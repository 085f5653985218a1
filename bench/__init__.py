"""`make bench`: figures measured in one run, each beside the baseline it is judged against."""
