"""Mediation: usage records from the network, read and normalized (pure Python).

- :mod:`.records`: :class:`~.records.UsageEvent`, :class:`~.records.Reject`,
  :class:`~.records.MediationFileError`, :func:`~.records.split_username`
- :mod:`.cdr_csv`: CSV call detail records (:func:`~.cdr_csv.parse_cdr`)
- :mod:`.radius_detail`: FreeRADIUS detail files (:func:`~.radius_detail.parse_detail`)
- :mod:`.radius_acct_server`: RADIUS accounting server (:class:`~.radius_acct_server.AccountingServer`)
- :mod:`.radius_records`: accounting attributes -> events, record ids
- :mod:`.counters`: cumulative counters -> deltas (sessions, gigawords, wraps, meters)
- :mod:`.radius_dictionary`: the pyrad dictionary (file ``dictionary``)

Nothing here imports Flask, SQLAlchemy or the rest of ``app``; storing events
idempotently and attributing them to accounts is the database side's job.
"""
