"""Provisioning adapters: push a service to the system that provides it.

The contract is in ``base`` (``Adapter``, ``ServiceSpec``, ``Field``, ``AdapterError``,
``load_adapters``); adapters are registered under the ``realmbill.provisioning_adapters``
entry points: ldap, ssh, telnet (legacy, insecure), ftp, smtp, radius_file, http, cli.
Adapters know nothing of Flask or the database and every operation is idempotent.
"""
