#ifndef HARDGNN_CORE_CLI_RECOMMEND_COMMAND_H_
#define HARDGNN_CORE_CLI_RECOMMEND_COMMAND_H_

namespace hardgnn {

// `hardgnn recommend --checkpoint=RUN/best.pt --flagfile=RUN/flags.txt --users=ID,ID|FILE --k=20
// [--export_embeddings=DIR]`: a trained model used outside training.
//  - For each user of --users, the --k highest-scoring items the user has never interacted
//    with (no event of the dataset, held-out ones included), as TSV on stdout:
//    user, rank (1..k), item, score. Users and items are the raw log's ids when the prepared
//    dataset keeps them, else dense indices.
//  - --export_embeddings=DIR writes user_embeddings.npy [users x d] and item_embeddings.npy
//    [items x d] (float32, see npy.h) and users.txt / items.txt (row i's id, one a line):
//    score(u, i) = user_embeddings[u] . item_embeddings[i], the scores recommend ranks.
// A user's vector is the model's query over the user's whole sequence (every event, the
// latest included): the state to recommend from after the data ends.
int RunRecommendCommand();

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_RECOMMEND_COMMAND_H_
