"""The public catalog as DCAT-AP 3.0.1 JSON-LD, for harvesters (数据目录元数据交换).

Each public resource is a ``dcat:Dataset`` published by its department, with ``dct:accessRights``
from the EU access-right vocabulary; each of its datasets is a ``dcat:Distribution``. Only
unconditional data has a ``downloadURL``; conditional data points to its page (where one applies);
closed data has no distribution at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from shujiao.public_data.schemas import PublicResourceRead, download_path

ACCESS_RIGHTS = {
    "unconditional": "http://publications.europa.eu/resource/authority/access-right/PUBLIC",
    "conditional": "http://publications.europa.eu/resource/authority/access-right/RESTRICTED",
    "closed": "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC",
}
FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
FREQUENCIES = {"realtime": "CONT", "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY",
               "quarterly": "QUARTERLY", "annual": "ANNUAL", "irregular": "IRREG"}
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
MEDIA_TYPES = {"csv": ("text/csv", "CSV"), "parquet": ("application/vnd.apache.parquet", "PARQUET")}

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "spdx": "http://spdx.org/rdf/terms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def _text(value: str, language: str = "zh") -> dict[str, str]:
    return {"@value": value, "@language": language}


def _time(value: dt.datetime) -> dict[str, str]:
    return {"@value": value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
            "@type": "xsd:dateTime"}


def _typed(iri: str, rdf_type: str) -> dict[str, str]:
    return {"@id": iri, "@type": rdf_type}


def _distribution(base: str, resource: PublicResourceRead, dataset: Any) -> dict[str, Any]:
    media_type, file_type = MEDIA_TYPES.get(dataset.file_format, ("application/octet-stream", "BIN"))
    distribution: dict[str, Any] = {
        "@id": f"{base}/api/v1/public-data/datasets/{dataset.id}",
        "@type": "dcat:Distribution",
        "dct:title": _text(dataset.filename),
        "dct:description": _text(f"{resource.name}：{dataset.rows} 行，{dataset.file_format.upper()}"),
        "dct:issued": _time(dataset.uploaded_at),
        "dcat:mediaType": _typed(f"https://www.iana.org/assignments/media-types/{media_type}", "dct:MediaType"),
        "dct:format": _typed(FILE_TYPE + file_type, "dct:MediaTypeOrExtent"),
        "dcat:byteSize": {"@value": str(dataset.size_bytes), "@type": "xsd:nonNegativeInteger"},
        "spdx:checksum": {
            "@type": "spdx:Checksum",
            "spdx:algorithm": _typed("http://spdx.org/rdf/terms#checksumAlgorithm_sha256", "spdx:ChecksumAlgorithm"),
            "spdx:checksumValue": {"@value": dataset.sha256, "@type": "xsd:hexBinary"},
        },
    }
    if resource.open_class == "unconditional":
        url = base + download_path(dataset.id)
        distribution["dcat:accessURL"] = {"@id": url}
        distribution["dcat:downloadURL"] = {"@id": url}
    else:  # conditional: the page where one applies, never the file
        distribution["dcat:accessURL"] = {"@id": f"{base}/public-data/resources/{resource.id}"}
    return distribution


def _dataset(base: str, resource: PublicResourceRead) -> dict[str, Any]:
    department = resource.department
    node: dict[str, Any] = {
        "@id": f"{base}/api/v1/public-data/resources/{resource.id}",
        "@type": "dcat:Dataset",
        "dct:identifier": f"public-data-{resource.id}",
        "dct:title": _text(resource.name),
        "dct:description": _text(resource.description or f"{department.name}：{resource.name}"),
        "dct:publisher": {
            "@id": f"{base}/public-data/departments/{department.id}",
            "@type": ["foaf:Agent", "foaf:Organization"],
            "foaf:name": _text(department.name),
        },
        "dct:accessRights": _typed(ACCESS_RIGHTS[resource.open_class], "dct:RightsStatement"),
        "dct:accrualPeriodicity": _typed(FREQUENCY + FREQUENCIES[resource.update_frequency], "dct:Frequency"),
        "dct:modified": _time(resource.updated_at),
        "dcat:keyword": [_text(resource.domain)],
        "dcat:landingPage": _typed(f"{base}/public-data/resources/{resource.id}", "foaf:Document"),
    }
    if resource.open_class != "closed":  # closed data never has a distribution
        node["dcat:distribution"] = [_distribution(base, resource, d) for d in resource.datasets]
    return node


def catalog_document(resources: Sequence[PublicResourceRead], *, base: str, publisher: str) -> dict[str, Any]:
    """The JSON-LD document: one ``dcat:Catalog`` of every public resource."""
    return {
        "@context": CONTEXT,
        "@id": f"{base}/api/v1/public-data/catalog",
        "@type": "dcat:Catalog",
        "dct:title": [_text("公共数据开放目录"), _text("Public data catalog", "en")],
        "dct:description": [_text("数据主管部门汇聚的各部门公共数据资源及其开放属性"),
                            _text("Public data resources of the departments, with their open class", "en")],
        "dct:publisher": {"@id": f"{base}/", "@type": "foaf:Agent", "foaf:name": _text(publisher)},
        "foaf:homepage": _typed(f"{base}/public-data", "foaf:Document"),
        "dcat:dataset": [_dataset(base, r) for r in resources],
    }
