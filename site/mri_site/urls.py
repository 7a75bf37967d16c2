"""The API's URLs. Everything else, "/" (index.html) included, is a file of frontend/ served by
whitenoise before a request reaches Django's URL resolver."""
from django.urls import path

from mri_site import api

urlpatterns = [
    path("api/predict", api.predict, name="predict"),
    path("api/model", api.model_metadata, name="model"),
    path("api/health", api.health, name="health"),
]

handler400 = "mri_site.api.bad_request"
handler404 = "mri_site.api.not_found"
handler500 = "mri_site.api.server_error"
