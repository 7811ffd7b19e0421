"""Architecture search: a network described as data in the program (``ARCH``), a
trusted builder (:mod:`.cell`, copied beside the program), architecture-aware moves
(:mod:`.space`) and the proposer (:mod:`.proposer`, ``[proposer] kind = "nas"``)."""
