"""Look inside a finished classification run: plain functions returning data and plotly figures.

The Analyze tab (workbench/ui/analyze_tab.py) and notebooks/03_analyze_a_run.ipynb call these.

    predictions, labels = load_predictions(run)          # run_data
    report = classification_metrics(predictions, labels) # metrics
    cm = confusion_matrix(predictions, labels)               # confusion
    model, tokenizer, max_length = load_model(run)
    att = attention_maps(model, tokenizer, "a text")     # attention ("a text", "its pair" for a pair run)
    shap_attr = shap_attributions(model, tokenizer, "a text")   # attribution (pair="its pair" for a pair run)
    faith = measure_faithfulness(model, tokenizer, texts, standard_explainers(model, tokenizer))
    clusters = error_clusters(model, tokenizer, predictions)    # clusters
    comparison = compare_runs(run_a, run_b)                 # compare: side by side, McNemar
"""

from workbench.analysis.attention import (
    AttentionResult,
    attention_grid_figure,
    attention_head_figure,
    attention_maps,
    attention_rollout,
    pooled_rollout_figure,
    rollout_figure,
)
from workbench.analysis.attribution import (
    Attribution,
    ExplainerCost,
    attribution_html,
    explain,
    explainer_costs,
    gradient_x_input,
    integrated_gradients,
    legend_html,
    log_odds,
    random_attributions,
    shap_attributions,
    shap_plan,
)
from workbench.analysis.clusters import (
    ErrorClusters,
    cluster_errors,
    cluster_figure,
    clusters_csv,
    distinguishing_terms,
    embed,
    error_clusters,
)
from workbench.analysis.compare import RunComparison, compare_runs
from workbench.analysis.confusion import Confusion, cell_examples, confusion_figure, confusion_matrix
from workbench.analysis.faithfulness import (
    ERASER_BINS,
    FaithfulnessReport,
    erase_scores,
    example_parts,
    measure_faithfulness,
    faithfulness_figure,
    sample_texts,
    standard_explainers,
)
from workbench.analysis.metrics import (
    MetricsReport,
    calibration,
    classification_metrics,
    per_class_figure,
    reliability_figure,
)
from workbench.analysis.run_data import check_analysable, load_model, load_predictions

__all__ = [name for name in dir() if not name.startswith("_")]
