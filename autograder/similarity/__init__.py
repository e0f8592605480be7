"""Finding copied work across a class, after a batch: each graded function of every pair of
submissions, compared on fingerprints of normalised code, with the code everyone may share (the
release's given code, the kit's solutions, the book's code) left out. Evidence for a person to look
at; nothing is deducted.

``code``: the functions of a notebook, and their normalised tokens. ``winnow``: fingerprints.
``compare``: the index, the pairs, their scores and groups. ``page``: the HTML page and the CSV.
"""
