"""IMAGE_STORAGE=s3: images go to a private bucket and links are presigned and expire. S3 itself
cannot run here, so moto stands in for it; everything else (worker, storage API, links) is real."""

from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws

from tests.conftest import SEED_REQUEST

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def s3(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket="images", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        settings.IMAGE_STORAGE = "s3"
        settings.IMAGE_LINK_TTL = 900
        backend = settings.IMAGE_STORAGE_BACKENDS["s3"]  # the production configuration
        options = {**backend["OPTIONS"], "bucket_name": "images", "region_name": "eu-west-1", "querystring_expire": 900}
        settings.STORAGES = {**settings.STORAGES, "images": {**backend, "OPTIONS": options}}
        yield client


def test_images_are_stored_in_the_bucket_with_presigned_expiring_links(api, run_worker, s3):
    task = api.post("/api/v2/task/async", SEED_REQUEST, format="json").json()
    run_worker()
    done = api.get(f"/api/v2/task/{task['id']}").json()
    assert done["state"] == "succeeded"
    keys = sorted(obj["Key"] for obj in s3.list_objects_v2(Bucket="images")["Contents"])
    assert keys == [f"image_generation/{task['id']}/image{i}_1024_1024.png" for i in range(3)]
    for image in done["status"][0]["response"]["output"][0]["images"]:
        url = urlsplit(image["url"])
        query = parse_qs(url.query)
        assert url.path.endswith(image["path"])
        assert query["X-Amz-Expires"] == ["900"] and "X-Amz-Signature" in query
        head = s3.head_object(Bucket="images", Key=image["path"])
        assert head["ContentLength"] > 0
