//! Suites run on both vault stores: `on_both_stores!(case, …)` makes, for each `case`, a test in
//! `mod sqlite` and one in `mod postgres` that call the including file's
//! `run(Store, case)` (which sets up that store and bounds the case in time).

/// Where a case's vault lives.
#[derive(Clone, Copy, Debug)]
pub enum Store {
    /// A file in a temporary directory.
    Sqlite,
    /// A fresh database of the throwaway cluster (`super::postgres`).
    Postgres,
}

#[macro_export]
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::run($crate::support::stores::Store::Sqlite, super::$case).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::run($crate::support::stores::Store::Postgres, super::$case).await;
                }
            )*
        }
    };
}
