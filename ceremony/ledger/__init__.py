"""The ledger: the tamper-evident, append-only memory of every ceremony (DESIGN §5) — the only writer.

One module per idea:

* ``store``        the SQLite file: opening, schema, append-only triggers, ``Ledger.append`` (the writer)
* ``events``       event types, payload shapes, exactly what is hashed and what participants sign
* ``canonical``    canonical JSON (sorted keys, NFC, no floats), the bytes that are hashed
* ``state``        the rules replayed over history (enrollment, signers, keys, custody rule 3.7.6)
* ``replay``       streaming rows back out of the file, checking each as it comes
* ``checkpoint``   RFC 6962 Merkle root, paper checkpoints (text and QR payload)
* ``verify``       ``verify_ledger``: the whole replay, stopping at the first fault
* ``export``       evidence bundle for auditors (backup-API copy, JSON Lines, checkpoint)
* ``participants`` enrollment and deactivation records
* ``register``     everything the records say (people, keys, splits, holders, exceptions, documents,
                   ceremonies), folded once from validated records: what every other package reads
"""
