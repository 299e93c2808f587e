"""UI routes. Each area keeps its views in its own module."""
from django.urls import path

from . import dashboard
from . import sources
from . import bulk, review
from . import jobs, renditions
from . import deletion, errorlog, reingest
from . import extracts, takedown

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("sources/", sources.source_list, name="source-list"),
    path("sources/add/", sources.source_add_view, name="source-add"),
    path("sources/<int:pk>/", sources.source_detail, name="source-detail"),
    path("assets/<int:pk>/", sources.asset_detail, name="asset-detail"),
    path("review/", review.review_home, name="review-home"),
    path("review/next/", review.review_next, name="review-next"),
    path("review/undo/", review.review_undo, name="review-undo"),
    path("review/bulk/", bulk.bulk_review, name="review-bulk"),
    path("review/<int:pk>/", review.review_item, name="review-item"),
    path("review/<int:pk>/take/", review.review_take, name="review-take"),
    path("review/<int:pk>/decide/", review.review_decide, name="review-decide"),
    path("review/<int:pk>/choose/", review.review_choose, name="review-choose"),
    path("jobs/", jobs.job_list_view, name="job-list"),
    path("jobs/start/", jobs.job_start_view, name="job-start"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job-detail"),
    path("jobs/<int:pk>/download/", jobs.job_download, name="job-download"),
    path("jobs/<int:pk>/<slug:action>/", jobs.job_action, name="job-action"),
    path("namelists/upload/", jobs.namelist_upload_view, name="namelist-upload"),
    path("namelists/<int:pk>/", jobs.namelist_detail, name="namelist-detail"),
    path("namelists/<int:pk>/misses.csv", jobs.namelist_misses_download, name="namelist-misses"),
    path("images/asset/<int:pk>/<slug:kind>.jpg", renditions.asset_image, name="asset-image"),
    path("images/candidate/<int:pk>/<slug:kind>.jpg", renditions.candidate_image, name="candidate-image"),
    path("deletions/", deletion.plan_list, name="deletion-plan-list"),
    path("deletions/<int:pk>/", deletion.plan_detail, name="deletion-plan-detail"),
    path("deletions/<int:pk>/plan.csv", deletion.plan_csv, name="deletion-plan-csv"),
    path("deletions/<int:pk>/<slug:action>/", deletion.plan_action, name="deletion-plan-action"),
    path("deletions/items/<int:pk>/restore/", deletion.item_restore, name="deletion-item-restore"),
    path("quarantine/", deletion.quarantine_view, name="quarantine-list"),
    path("audit/", deletion.audit_list, name="audit-list"),
    path("takedown/", takedown.takedown, name="takedown"),
    path("extracts/", extracts.extract_list, name="extract-list"),
    path("extracts/<int:pk>/", extracts.extract_detail, name="extract-detail"),
    path("extracts/<int:pk>/delete/", extracts.extract_delete, name="extract-delete"),
    path("extracts/archives/<int:pk>/manifest.csv", extracts.manifest_csv, name="extract-manifest"),
    path("errors/", errorlog.errorlog_list, name="errorlog-list"),
    path("reingest/", reingest.reingest_list_view, name="reingest-list"),
    path("reingest/send/", reingest.reingest_send_all, name="reingest-send-all"),
    path("reingest/check/", reingest.reingest_check_now, name="reingest-check"),
    path("reingest/<int:pk>/", reingest.reingest_detail, name="reingest-detail"),
    path("reingest/<int:pk>/<slug:action>/", reingest.reingest_action, name="reingest-action"),
]
