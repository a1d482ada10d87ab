"""Package discovery; the project's metadata and dependencies are in pyproject.toml.

Every top-level package (an app: a folder with ``__init__.py``) is found, with all its sub-folders
as namespace packages, so migrations, commands and the template and static folders ship without a
list to keep and without setuptools' "absent from the packages configuration" warnings. The folder
``platform/`` is the project's configuration, installed as ``imgplatform`` (a package importable as
``platform`` would hide the standard library module: see the README, "Why platform/ is
imgplatform"); that mapping is the one thing pyproject.toml cannot say next to discovery.
"""

from setuptools import find_namespace_packages, find_packages, setup

NOT_SHIPPED = ["tests", "tests.*", "bench", "bench.*"]
APPS = find_packages(exclude=NOT_SHIPPED)
top_level = sorted({name.split(".")[0] for name in APPS})

setup(
    packages=[*find_namespace_packages(include=[f"{app}*" for app in top_level]), "imgplatform"],
    package_dir={"imgplatform": "platform"},
)
