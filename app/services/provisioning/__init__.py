"""Service processing: processing modules, services and their lifecycle, operations with
retries and a manual fallback, tasks for departments (see app/models/provisioning.py).

Modules: ``modules`` (configure, encrypt settings, check), ``services`` (order, mark paid,
lifecycle), ``operations`` (queue, run, retry, restart), ``tasks`` (department work list),
``reactions`` (account events → operations).
"""
