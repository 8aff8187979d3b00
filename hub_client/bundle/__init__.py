"""Air-gap bundles: models, their cards, signatures and a manifest of digests in one tar, checked whole on the
other side before anything becomes visible."""

from .manifest import BundleFile, BundleManifest, BundleModel
from .placing import Checked, check_models, import_bundle, place, staging_folder
from .reading import Staged, read_bundle
from .writing import Exported, export_bundle

__all__ = ["BundleFile", "BundleManifest", "BundleModel", "Checked", "Exported", "Staged", "check_models",
           "export_bundle", "import_bundle", "place", "read_bundle", "staging_folder"]
