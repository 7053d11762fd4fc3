"""The SDK's sub-commands of ``hub``: ``publish``, ``import`` and ``simulate``.

They are registered in the ``hub.commands`` entry-point group (pyproject.toml), which the
``hub`` command reads at start; ``hub`` itself never imports ``connectors``.
"""
