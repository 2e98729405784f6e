"""The song map: UMAP to a few dimensions, then KMeans, with a documented choice of k.

:class:`SongMap` reduces song vectors with UMAP (10 dimensions by default) and
clusters the reduced vectors with KMeans.  The number of clusters comes from a
sweep over ``k_range`` that records KMeans' distortion (inertia) and the
silhouette score, computed on the same reduced vectors that were clustered
(on a sample of ``silhouette_sample`` songs for large catalogues).  Above
``sweep_sample`` fitted songs the sweep runs on a random sample of that size and
only the chosen k is fitted on all of them.

The sweep's range grows with the catalogue (``k_range="auto"``: every k from 2
to 20, then steps of about 15% up to one cluster per 40 songs, at least 16 and
at most 200), and ``k_rule`` picks k from it:

- ``"finest"`` (default): the largest k whose silhouette is within
  ``silhouette_tolerance`` of the sweep's best.  A map is for exploring: among
  the splits that are about as well separated as the best one, the finest gives
  the most groups to look at (the study settled on 122 clusters for 11k songs by
  weighing distortion, silhouette and a large number of groups).
- ``"elbow"``: the elbow of the distortion curve (the point of maximum curvature
  with both axes scaled to [0, 1]), unless its silhouette is more than
  ``silhouette_tolerance`` below the best, then the best silhouette's k.
- ``"silhouette"``: the k with the best silhouette.

``choice_`` says which rule decided.

A fitted map places new songs with :meth:`SongMap.transform`: a new vector goes
through the same PCA, then lands at the similarity-weighted mean position of its
``n_neighbors`` nearest fitted songs (UMAP's own starting point for new points,
without its refinement epochs), and takes the cluster of the nearest KMeans
centre.  The same placement works after :meth:`SongMap.save` / :meth:`SongMap.load`,
which keep only arrays (PCA, the fitted songs' reduced vectors and positions,
cluster centres): nothing is pickled.

Large catalogues: with more than ``fit_sample`` songs, PCA, UMAP and KMeans are
fitted on a random sample of that size and the other songs are transformed
and assigned in batches, so memory and time grow linearly with the catalogue
(UMAP's nearest-neighbour graph on 1.7M songs would not fit in 24 GiB).

Parts: ``_map`` (:class:`SongMap`), ``_k`` (the values of k, the sweep, :func:`choose_k`,
:func:`elbow_point`), ``_persist`` (a map's files), ``_describe`` (:func:`label_points`,
:func:`describe_clusters`) and ``_plots`` (:func:`plot_k_sweep`, :func:`plot_points`); import the
public ones from here.
"""

from ._describe import describe_clusters, label_points
from ._k import choose_k, elbow_point, finer_split
from ._map import SongMap
from ._plots import plot_k_sweep, plot_points

__all__ = ["SongMap", "choose_k", "describe_clusters", "elbow_point", "finer_split", "label_points", "plot_k_sweep",
           "plot_points"]
