"""The DCAT-AP 3 export conforms to the DCAT-AP 3.0.1 SHACL shapes and says what a harvester needs."""

from __future__ import annotations

import json
from pathlib import Path

import pyshacl
import rdflib
from rdflib.namespace import DCAT, DCTERMS, RDF, SH

from shujiao.public_data.dcat import ACCESS_RIGHTS
from tests.public_data.conftest import BASE, World

SHAPES = Path("/work/shared/conformance/dcat-ap-3.0.1-SHACL.ttl")


def harvest(world: World) -> rdflib.Graph:
    response = world.client.get(f"{BASE}/catalog.jsonld")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    return rdflib.Graph().parse(data=response.text, format="json-ld")


def test_the_catalog_conforms_to_the_dcat_ap_shapes(world: World) -> None:
    graph = harvest(world)
    conforms, _, report = pyshacl.validate(graph, shacl_graph=rdflib.Graph().parse(SHAPES), inference="none")
    assert conforms, report
    # Not vacuous: the shapes' targets are all there.
    assert len(list(graph.subjects(RDF.type, DCAT.Catalog))) == 1
    assert len(list(graph.subjects(RDF.type, DCAT.Dataset))) == 3
    assert len(list(graph.subjects(RDF.type, DCAT.Distribution))) == 2  # unconditional and conditional


def test_access_rights_publishers_and_download_urls(world: World) -> None:
    graph = harvest(world)
    datasets = {str(s).rsplit("/", 1)[-1]: s for s in graph.subjects(RDF.type, DCAT.Dataset)}
    for open_class, public_id in world.public.items():
        node = datasets[str(public_id)]
        assert str(graph.value(node, DCTERMS.accessRights)) == ACCESS_RIGHTS[open_class]
        publisher = graph.value(node, DCTERMS.publisher)
        assert str(graph.value(publisher, rdflib.FOAF.name)) in ("贵阳市交通委员会", "贵阳市市场监督管理局")
        urls = [graph.value(d, DCAT.downloadURL) for d in graph.objects(node, DCAT.distribution)]
        if open_class == "unconditional":
            assert [str(u) for u in urls] == [f"http://testserver{BASE}/datasets/{world.datasets[open_class]}/download"]
            assert world.client.get(str(urls[0]).removeprefix("http://testserver")).status_code == 200
        elif open_class == "conditional":
            assert urls == [None]  # a distribution with an access URL (the page to apply on), no file
        else:
            assert urls == []


def test_the_shapes_catch_a_broken_export(world: World) -> None:
    """The check is not vacuous: the same export without a dataset title or the publisher's name fails."""
    document = world.client.get(f"{BASE}/catalog.jsonld").json()
    del document["dcat:dataset"][0]["dct:title"]
    del document["dct:publisher"]["foaf:name"]  # the catalog's (a department is named by each of its datasets)
    graph = rdflib.Graph().parse(data=json.dumps(document), format="json-ld")
    conforms, results, _ = pyshacl.validate(graph, shacl_graph=rdflib.Graph().parse(SHAPES), inference="none")
    assert not conforms
    assert set(results.objects(None, SH.resultPath)) == {DCTERMS.title, rdflib.FOAF.name}
